package io.jblk.nativeio;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * What the two native engines share: the descriptor, O_DIRECT alignment with bounce buffers and read-modify-write of
 * partial blocks, the zeroing strategy chain, size bookkeeping, SEEK_DATA/SEEK_HOLE, and close. Engines supply only
 * the primitive operations on native, suitably aligned memory.
 *
 * <p>Requests that need no copying go straight to the engine. The rest (unaligned O_DIRECT requests, heap segments,
 * zeroing, hole punching) run as plain blocking code on a virtual thread that waits for engine primitives; that keeps
 * the bounce logic readable and never runs it on an engine's completion thread.
 */
abstract sealed class NativeHostFile implements HostFile permits ThreadsHostFile, IoUringHostFile {
    private static final ExecutorService SLOW_PATH =
            Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("jblk-hostfile-", 0).factory());

    /**
     * Where engines complete futures: a virtual thread per completion, so that a caller's dependent stage which
     * blocks (on more I/O, say) holds up neither an engine thread nor other completions.
     */
    static final Executor COMPLETER = Executors.newThreadPerTaskExecutor(
            Thread.ofVirtual().name("jblk-complete-", 0).factory());

    enum ZeroStrategy { ZERO_RANGE, PUNCH_HOLE, WRITE_ZEROS }

    protected final FileHandle file;
    protected final Path path;
    protected final int fd;
    private final boolean readOnly;
    private final boolean direct;
    /** O_DIRECT offset and length alignment; 1 without O_DIRECT. */
    private final int alignment;
    /** O_DIRECT buffer address alignment; 1 without O_DIRECT. */
    private final int memAlignment;
    private final String fallbackCause;
    protected final InFlight inFlight = new InFlight();
    private final SizeGuard sizes;
    private final BlockLocks blockLocks;
    private volatile ZeroStrategy zeroStrategy = ZeroStrategy.ZERO_RANGE;

    protected NativeHostFile(FileHandle file, HostFileOptions options, String fallbackCause) throws IOException {
        this.file = file;
        this.path = file.path();
        this.fd = file.fd();
        this.readOnly = options.readOnly();
        this.direct = options.direct();
        this.fallbackCause = fallbackCause;
        FileStat stat = file.stat();
        if (direct) {
            // Without STATX_DIOALIGN (kernels before 6.1) assume the page size, which every device accepts.
            this.alignment = Math.max(512, stat.dioOffsetAlign() > 0 ? stat.dioOffsetAlign() : BouncePool.PAGE);
            this.memAlignment = Math.max(512, stat.dioMemAlign() > 0 ? stat.dioMemAlign() : BouncePool.PAGE);
            if (alignment > BouncePool.PAGE || memAlignment > BouncePool.PAGE) {
                throw new IOException(path + " needs O_DIRECT alignment " + alignment + "/" + memAlignment
                        + ", more than the supported " + BouncePool.PAGE);
            }
        } else {
            this.alignment = 1;
            this.memAlignment = 1;
        }
        this.sizes = new SizeGuard(stat.size());
        this.blockLocks = new BlockLocks(alignment);
    }

    // ---- engine primitives: native memory, aligned as O_DIRECT needs ----

    /**
     * Reads until {@code dst} is full or end of file (see {@link #readContinuesAfterShortRead}); yields the bytes read.
     */
    abstract CompletableFuture<Long> readNative(long offset, MemorySegment dst);

    /** Writes all of {@code src}. */
    abstract CompletableFuture<Void> writeNative(long offset, MemorySegment src);

    /** One vectored write of at most {@link Linux#IOV_MAX} buffers; yields the bytes written, possibly fewer. */
    abstract CompletableFuture<Long> writevNative(long offset, List<MemorySegment> srcs);

    abstract CompletableFuture<Void> fallocateNative(int mode, long offset, long length);

    abstract CompletableFuture<Void> fdatasyncNative();

    // The same primitives, blocking the calling thread; each engine serves them without a completion thread.

    abstract long readNow(long offset, MemorySegment dst) throws IOException;

    abstract void writeNow(long offset, MemorySegment src) throws IOException;

    abstract long writevNow(long offset, List<MemorySegment> srcs) throws IOException;

    abstract void fallocateNow(int mode, long offset, long length) throws IOException;

    abstract void fdatasyncNow() throws IOException;

    /** Releases engine resources; called once, after every operation has finished. */
    abstract void closeEngine() throws IOException;

    // ---- HostFile ----

    @Override
    public Path path() {
        return path;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean isDirect() {
        return direct;
    }

    @Override
    public int alignment() {
        return alignment;
    }

    @Override
    public String engineFallbackCause() {
        return fallbackCause;
    }

    @Override
    public long size() throws IOException {
        return sync("size", () -> file.stat().size());
    }

    @Override
    public long allocatedBytes() throws IOException {
        return sync("allocatedBytes", () -> file.stat().blocks() * 512);
    }

    @Override
    public void truncate(long size) throws IOException {
        if (size < 0) {
            throw new IOException("truncate of " + path + " to negative size " + size);
        }
        requireWritable("truncate", size);
        sync("truncate", () -> {
            long stamp = sizes.resizing();
            try {
                ftruncate(size);
                sizes.set(size);
            } finally {
                sizes.release(stamp);
            }
            return null;
        });
    }

    @Override
    public long nextData(long offset) throws IOException {
        return sync("nextData", () -> seek(offset, Linux.SEEK_DATA, "lseek(SEEK_DATA)"));
    }

    @Override
    public long nextHole(long offset) throws IOException {
        return sync("nextHole", () -> {
            long r = seek(offset, Linux.SEEK_HOLE, "lseek(SEEK_HOLE)");
            return r >= 0 ? r : Math.max(offset, file.stat().size());
        });
    }

    private long seek(long offset, int whence, String what) throws IOException {
        if (offset < 0) {
            throw new IOException(what + " on " + path + " at negative offset " + offset);
        }
        long r = Linux.lseek(fd, offset, whence);
        if (r == -Linux.ENXIO) {
            return -1; // at or past end of file, or (SEEK_DATA) only a hole follows
        }
        if (r < 0) {
            throw new NativeIOException(what, path, offset, -1, (int) -r);
        }
        return r;
    }

    @Override
    public CompletableFuture<Long> read(long offset, MemorySegment dst) {
        Objects.requireNonNull(dst, "dst");
        IOException bad = badRange("read", offset, dst.byteSize());
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (!inFlight.enter()) {
            return CompletableFuture.failedFuture(new FileClosedException("read at offset " + offset, path));
        }
        long length = dst.byteSize();
        CompletableFuture<Long> result;
        if (length == 0) {
            result = CompletableFuture.completedFuture(0L);
        } else if (confined(dst)) {
            result = inline(() -> bounceRead(offset, dst));
        } else if (kernelReady(offset, dst) && !dst.isReadOnly()) {
            result = readNative(offset, dst).thenApply(n -> {
                if (n < length) {
                    dst.asSlice(n).fill((byte) 0);
                }
                return n;
            });
        } else {
            result = slow(() -> bounceRead(offset, dst));
        }
        return track(result);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment src) {
        return write(offset, List.of(src));
    }

    @Override
    public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
        List<MemorySegment> buffers = List.copyOf(srcs);
        long total = 0;
        for (MemorySegment s : buffers) {
            total += s.byteSize();
        }
        IOException refused = refuseWrite("write", offset, total);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        IOException bad = badRange("write", offset, total);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (!inFlight.enter()) {
            return CompletableFuture.failedFuture(new FileClosedException("write at offset " + offset, path));
        }
        long end = offset + total;
        CompletableFuture<Void> result;
        if (total == 0) {
            result = CompletableFuture.completedFuture(null);
        } else if (buffers.stream().anyMatch(NativeHostFile::confined)) {
            long length = total;
            result = inline(() -> {
                slowWrite(offset, buffers, length);
                return null;
            });
        } else if (buffers.stream().allMatch(s -> kernelReady(offset, s)) && buffers.size() <= Linux.IOV_MAX) {
            long stamp = sizes.growing(end);
            result = gatherWrite(offset, buffers).whenComplete((v, e) -> {
                if (e == null) {
                    sizes.grew(end);
                }
                sizes.release(stamp);
            });
        } else {
            long length = total;
            result = slow(() -> {
                slowWrite(offset, buffers, length);
                return null;
            });
        }
        return track(result);
    }

    @Override
    public CompletableFuture<Void> zeroRange(long offset, long length) {
        IOException refused = refuseWrite("zeroRange", offset, length);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        IOException bad = badRange("zeroRange", offset, length);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (!inFlight.enter()) {
            return CompletableFuture.failedFuture(new FileClosedException("zeroRange at offset " + offset, path));
        }
        return track(length == 0 ? CompletableFuture.completedFuture(null) : slow(() -> {
            zeroSlow(offset, length);
            return null;
        }));
    }

    @Override
    public CompletableFuture<Void> punchHole(long offset, long length) {
        IOException refused = refuseWrite("punchHole", offset, length);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        IOException bad = badRange("punchHole", offset, length);
        if (bad != null) {
            return CompletableFuture.failedFuture(bad);
        }
        if (!inFlight.enter()) {
            return CompletableFuture.failedFuture(new FileClosedException("punchHole at offset " + offset, path));
        }
        return track(length == 0 ? CompletableFuture.completedFuture(null) : slow(() -> {
            punchSlow(offset, length);
            return null;
        }));
    }

    @Override
    public CompletableFuture<Void> flush() {
        if (!inFlight.enter()) {
            return CompletableFuture.failedFuture(new FileClosedException("flush", path));
        }
        return track(fdatasyncNative());
    }

    // ---- HostFile, blocking: the same paths run on the calling thread ----

    @Override
    public long readBlocking(long offset, MemorySegment dst) throws IOException {
        Objects.requireNonNull(dst, "dst");
        throwIfPresent(badRange("read", offset, dst.byteSize()));
        return sync("read", () -> {
            long length = dst.byteSize();
            if (length == 0) {
                return 0L;
            }
            if (confined(dst) || !kernelReady(offset, dst) || dst.isReadOnly()) {
                return bounceRead(offset, dst);
            }
            long n = readNow(offset, dst);
            if (n < length) {
                dst.asSlice(n).fill((byte) 0);
            }
            return n;
        });
    }

    @Override
    public void writeBlocking(long offset, MemorySegment src) throws IOException {
        writeBlocking(offset, List.of(src));
    }

    @Override
    public void writeBlocking(long offset, List<MemorySegment> srcs) throws IOException {
        long total = 0;
        boolean direct = srcs.size() <= Linux.IOV_MAX;
        for (MemorySegment s : srcs) {
            total += s.byteSize();
            direct &= !confined(s) && kernelReady(offset, s);
        }
        throwIfPresent(refuseWrite("write", offset, total));
        throwIfPresent(badRange("write", offset, total));
        long length = total;
        boolean straight = direct;
        sync("write", () -> {
            if (length == 0) {
                return null;
            }
            if (!straight) {
                slowWrite(offset, srcs, length);
                return null;
            }
            long end = offset + length;
            long stamp = sizes.growing(end);
            try {
                gatherWriteNow(offset, srcs);
                sizes.grew(end);
            } finally {
                sizes.release(stamp);
            }
            return null;
        });
    }

    @Override
    public void zeroRangeBlocking(long offset, long length) throws IOException {
        throwIfPresent(refuseWrite("zeroRange", offset, length));
        throwIfPresent(badRange("zeroRange", offset, length));
        sync("zeroRange", () -> {
            if (length > 0) {
                zeroSlow(offset, length);
            }
            return null;
        });
    }

    @Override
    public void punchHoleBlocking(long offset, long length) throws IOException {
        throwIfPresent(refuseWrite("punchHole", offset, length));
        throwIfPresent(badRange("punchHole", offset, length));
        sync("punchHole", () -> {
            if (length > 0) {
                punchSlow(offset, length);
            }
            return null;
        });
    }

    @Override
    public void flushBlocking() throws IOException {
        sync("flush", () -> {
            fdatasyncNow();
            return null;
        });
    }

    private static void throwIfPresent(IOException e) throws IOException {
        if (e != null) {
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        if (!inFlight.closeAndAwait()) {
            return;
        }
        try {
            closeEngine();
        } finally {
            file.close();
        }
    }

    @Override
    public String toString() {
        return "HostFile[" + path + ", " + engineName() + (direct ? ", O_DIRECT" : "") + "]";
    }

    /** The zeroing strategy currently in use (the first one the file system has not refused). */
    ZeroStrategy zeroStrategy() {
        return zeroStrategy;
    }

    /** For tests: start the strategy chain further down, as a file system refusing the earlier ones would. */
    void skipZeroStrategiesBefore(ZeroStrategy first) {
        zeroStrategy = first;
    }

    // ---- the slow path: bounce buffers, read-modify-write, zeroing ----

    /** Any thread but the caller's; segments it cannot access belong to a confined arena. */
    private static final Thread OTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });

    /**
     * Whether only the calling thread may touch {@code segment} (a confined arena). Such requests run on the caller's
     * thread through a bounce buffer, as the pure-Java engine would, since no engine thread may copy into or out of them.
     */
    private static boolean confined(MemorySegment segment) {
        return !segment.isAccessibleBy(OTHER_THREAD);
    }

    /** Whether the kernel can take {@code segment} at {@code offset} as it is. */
    private boolean kernelReady(long offset, MemorySegment segment) {
        return segment.isNative()
                && offset % alignment == 0 && segment.byteSize() % alignment == 0 && segment.address() % memAlignment == 0;
    }

    /**
     * Whether a read at {@code offset} that has filled {@code done} bytes of {@code dst}, fewer than asked, asks the
     * kernel for the rest. A short read means end of file. Without O_DIRECT the engine asks again anyway (a signal can
     * cut a buffered read short; at a real end the next call returns 0). With O_DIRECT the kernel stops at end of
     * file, usually inside a block: if another request grows the file meanwhile, a read from that unaligned position
     * fails with EINVAL. So the read ends there, as if it had finished before the file grew, and the caller zero-fills
     * the rest of {@code dst} as for any read past end of file.
     */
    final boolean readContinuesAfterShortRead(long offset, MemorySegment dst, long done) {
        return !direct || kernelReady(offset + done, dst.asSlice(done));
    }

    private long alignDown(long v) {
        return v - v % alignment;
    }

    private long alignUp(long v) {
        long r = v % alignment;
        return r == 0 ? v : v + alignment - r;
    }

    private long bounceRead(long offset, MemorySegment dst) throws IOException {
        long end = offset + dst.byteSize();
        long fromFile = 0;
        MemorySegment bounce = BouncePool.take();
        try {
            for (long p = alignDown(offset); p < end; p += BouncePool.CHUNK) {
                long n = Math.min(BouncePool.CHUNK, alignUp(end) - p);
                MemorySegment buf = bounce.asSlice(0, n);
                long got = readNow(p, buf);
                long s = Math.max(offset, p);
                long e = Math.min(end, p + n);
                if (got < n) {
                    buf.asSlice(got).fill((byte) 0);
                }
                MemorySegment.copy(buf, s - p, dst, s - offset, e - s);
                fromFile += Math.clamp(p + got - s, 0, e - s);
                if (got < n) {
                    dst.asSlice(e - offset).fill((byte) 0); // end of file: the rest reads as zeros
                    break;
                }
            }
        } finally {
            BouncePool.give(bounce);
        }
        return fromFile;
    }

    /**
     * An unaligned or heap-sourced write. With O_DIRECT the covered blocks are written whole, so partial edge blocks
     * are read first (under their block locks), and a write whose padding reaches past end of file holds the size
     * lock exclusively and trims the file back to its true size afterwards.
     */
    private void slowWrite(long offset, List<MemorySegment> srcs, long total) throws IOException {
        long end = offset + total;
        boolean padded = alignDown(offset) != offset || alignUp(end) != end;
        boolean pastEnd = !sizes.within(alignUp(end));
        boolean trim = padded && pastEnd;
        long stamp = trim ? sizes.resizing() : sizes.growing(end);
        try {
            long sizeBefore = trim ? file.stat().size() : -1;
            int[] edges = padded ? blockLocks.lockEdges(offset, end) : new int[0];
            try {
                bounceWrite(offset, srcs, end);
            } finally {
                blockLocks.unlock(edges);
            }
            if (trim) {
                trimTo(Math.max(sizeBefore, end));
            }
            sizes.grew(end);
        } finally {
            sizes.release(stamp);
        }
    }

    /** Undoes O_DIRECT padding past end of file. Caller holds the size lock exclusively. */
    private void trimTo(long size) throws IOException {
        if (file.stat().size() > size) {
            ftruncate(size);
        }
    }

    /** Copies {@code srcs} (logically one buffer ending at {@code end}) through bounce buffers; no locking. */
    private void bounceWrite(long offset, List<MemorySegment> srcs, long end) throws IOException {
        MemorySegment bounce = BouncePool.take();
        try {
            for (long p = alignDown(offset); p < end; p += BouncePool.CHUNK) {
                long n = Math.min(BouncePool.CHUNK, alignUp(end) - p);
                MemorySegment buf = bounce.asSlice(0, n);
                long s = Math.max(offset, p);
                long e = Math.min(end, p + n);
                if (s > p) {
                    readBlock(p, buf.asSlice(0, alignment));
                }
                if (e < p + n && (n > alignment || s == p)) {
                    readBlock(p + n - alignment, buf.asSlice(n - alignment, alignment));
                }
                gather(srcs, s - offset, buf, s - p, e - s);
                writeNow(p, buf);
            }
        } finally {
            BouncePool.give(bounce);
        }
    }

    /** Reads one aligned block for read-modify-write; past end of file it reads as zeros. */
    private void readBlock(long offset, MemorySegment block) throws IOException {
        long got = readNow(offset, block);
        if (got < block.byteSize()) {
            block.asSlice(got).fill((byte) 0);
        }
    }

    /** Copies {@code length} bytes starting {@code from} bytes into the concatenation of {@code srcs}. */
    private static void gather(List<MemorySegment> srcs, long from, MemorySegment dst, long dstOffset, long length) {
        long skip = from;
        long at = dstOffset;
        long left = length;
        for (MemorySegment s : srcs) {
            if (left == 0) {
                break;
            }
            if (skip >= s.byteSize()) {
                skip -= s.byteSize();
                continue;
            }
            long n = Math.min(s.byteSize() - skip, left);
            MemorySegment.copy(s, skip, dst, at, n);
            at += n;
            left -= n;
            skip = 0;
        }
    }

    /** {@link #gatherWriteNow}, asynchronously: a single buffer goes straight to the engine. */
    private CompletableFuture<Void> gatherWrite(long offset, List<MemorySegment> srcs) {
        if (srcs.size() == 1) {
            return writeNative(offset, srcs.getFirst());
        }
        return slow(() -> {
            gatherWriteNow(offset, srcs);
            return null;
        });
    }

    /** Writes native, aligned buffers: one vectored write, then whatever a short write left. */
    private void gatherWriteNow(long offset, List<MemorySegment> srcs) throws IOException {
        if (srcs.size() == 1) {
            writeNow(offset, srcs.getFirst());
            return;
        }
        long skip = writevNow(offset, srcs);
        long position = offset;
        for (MemorySegment s : srcs) {
            long size = s.byteSize();
            if (skip >= size) {
                skip -= size;
            } else {
                writeNow(position + skip, s.asSlice(skip));
                skip = 0;
            }
            position += size;
        }
    }

    private void zeroSlow(long offset, long length) throws IOException {
        long end = offset + length;
        // Any strategy may set the size (punch + ftruncate, padded zero writes), so extension is exclusive.
        boolean extending = !sizes.within(alignUp(end));
        long stamp = extending ? sizes.resizing() : 0;
        try {
            long sizeBefore = extending ? file.stat().size() : -1;
            int[] edges = blockLocks.lockEdges(offset, end);
            try {
                zeroByStrategy(offset, length);
            } finally {
                blockLocks.unlock(edges);
            }
            if (extending) {
                long want = Math.max(sizeBefore, end);
                long now = file.stat().size();
                if (now != want) {
                    ftruncate(want);
                }
                sizes.grew(want);
            }
        } finally {
            sizes.release(stamp);
        }
    }

    /** ZERO_RANGE, else PUNCH_HOLE|KEEP_SIZE, else writing zeros; a refused strategy is not tried again. */
    private void zeroByStrategy(long offset, long length) throws IOException {
        if (zeroStrategy == ZeroStrategy.ZERO_RANGE) {
            if (fallocateSupported(Linux.FALLOC_FL_ZERO_RANGE | Linux.FALLOC_FL_KEEP_SIZE, offset, length)) {
                return;
            }
            zeroStrategy = ZeroStrategy.PUNCH_HOLE;
        }
        if (zeroStrategy == ZeroStrategy.PUNCH_HOLE) {
            if (fallocateSupported(Linux.FALLOC_FL_PUNCH_HOLE | Linux.FALLOC_FL_KEEP_SIZE, offset, length)) {
                return;
            }
            zeroStrategy = ZeroStrategy.WRITE_ZEROS;
        }
        for (long done = 0; done < length; ) {
            long n = Math.min(BouncePool.CHUNK, length - done);
            List<MemorySegment> zeros = List.of(BouncePool.ZEROS.asSlice(0, n));
            long at = offset + done;
            if (alignDown(at) == at && alignUp(at + n) == at + n) {
                writeNow(at, zeros.getFirst());
            } else {
                bounceWrite(at, zeros, at + n);
            }
            done += n;
        }
    }

    /** fallocate; false when the filesystem refuses this mode (EOPNOTSUPP), any other error is thrown. */
    private boolean fallocateSupported(int mode, long offset, long length) throws IOException {
        try {
            fallocateNow(mode, offset, length);
            return true;
        } catch (NativeIOException e) {
            if (e.errno() == Linux.EOPNOTSUPP) {
                return false;
            }
            throw e;
        }
    }

    private void punchSlow(long offset, long length) throws IOException {
        int[] edges = blockLocks.lockEdges(offset, offset + length);
        try {
            if (zeroStrategy != ZeroStrategy.WRITE_ZEROS
                    && fallocateSupported(Linux.FALLOC_FL_PUNCH_HOLE | Linux.FALLOC_FL_KEEP_SIZE, offset, length)) {
                return;
            }
        } finally {
            blockLocks.unlock(edges);
        }
        // No holes here: zero what lies inside the file, leaving the size alone.
        long end = Math.min(offset + length, file.stat().size());
        if (end > offset) {
            zeroSlow(offset, end - offset);
        }
    }

    // ---- helpers ----

    private void ftruncate(long size) throws IOException {
        int r = Linux.ftruncate(fd, size);
        if (r < 0) {
            throw new NativeIOException("ftruncate", path, size, -1, -r);
        }
    }

    /**
     * A range no file can have: a negative offset or length, or an end past 2^63-1. An IOException, as the kernel's
     * EINVAL would be, because such offsets usually come from corrupt image metadata, not from a programming error.
     */
    private IOException badRange(String op, long offset, long length) {
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            return new IOException(op + " of " + length + " bytes at offset " + offset + " on " + path
                    + ": outside any possible file (offset and length must be non-negative, end at most 2^63-1)");
        }
        return null;
    }

    private IOException refuseWrite(String op, long offset, long length) {
        return readOnly ? new IOException(op + " of " + length + " bytes at offset " + offset + " on " + path
                + ": the file is open read-only") : null;
    }

    private void requireWritable(String op, long value) throws IOException {
        IOException refused = refuseWrite(op, value, 0);
        if (refused != null) {
            throw refused;
        }
    }

    private <T> CompletableFuture<T> track(CompletableFuture<T> operation) {
        return operation.whenComplete((v, e) -> inFlight.exit());
    }

    @FunctionalInterface
    interface IoSupplier<T> {
        T get() throws IOException;
    }

    private <T> T sync(String op, IoSupplier<T> body) throws IOException {
        if (!inFlight.enter()) {
            throw new FileClosedException(op, path);
        }
        try {
            return body.get();
        } finally {
            inFlight.exit();
        }
    }

    private static <T> CompletableFuture<T> slow(IoSupplier<T> body) {
        Supplier<T> task = () -> {
            try {
                return body.get();
            } catch (IOException e) {
                throw new CompletionException(e);
            }
        };
        return CompletableFuture.supplyAsync(task, SLOW_PATH);
    }

    private static <T> CompletableFuture<T> inline(IoSupplier<T> body) {
        try {
            return CompletableFuture.completedFuture(body.get());
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }
}
