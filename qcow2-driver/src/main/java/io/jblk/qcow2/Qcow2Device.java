package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.CheckResult;
import io.jblk.api.ImageChecker;
import io.jblk.api.ReadOnlyDeviceException;
import io.jblk.qcow2.check.Qcow2Checker;
import io.jblk.api.DeviceClosedException;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;
import io.jblk.api.RequestChecks;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.Snapshot;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.qcow2.io.Backing;
import io.jblk.qcow2.io.CompressedWriter;
import io.jblk.qcow2.io.GuestReader;
import io.jblk.qcow2.io.GuestWriter;
import io.jblk.qcow2.io.ZeroWriter;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Phaser;

/**
 * An open qcow2 image. Each request runs as straight-line code on its own virtual thread (QEMU's coroutines, in
 * Java): metadata under the image lock, data I/O outside it.
 */
public final class Qcow2Device implements BlockDevice, ImageChecker, io.jblk.api.BackingReadCounter,
        io.jblk.api.SnapshotLister, io.jblk.api.HostLayout {
    private static final long MAX_TRANSFER = 32L << 20;

    private final Qcow2Image image;
    private final Backing backing;
    private final GuestReader reader;
    private final GuestWriter writer;
    private final ZeroWriter zeros;
    /** Non-null when opened with {@code compress=on}: whole-cluster writes are stored compressed. */
    private final CompressedWriter compressor;
    private final long size;
    private final String ioEngine;
    private final boolean subclusterDiscard;
    private final ExecutorService executor = Executors.newVirtualThreadPerTaskExecutor();
    private final Phaser inFlight = new Phaser(1);
    private volatile boolean closed;

    Qcow2Device(Qcow2Image image, Backing backing, boolean subclusterDiscard, boolean compressWrites) {
        this.image = image;
        this.backing = backing;
        this.size = image.header().size();
        this.reader = new GuestReader(image, backing);
        this.writer = new GuestWriter(image, reader);
        this.zeros = new ZeroWriter(image, reader, writer, size, subclusterDiscard);
        this.compressor = compressWrites ? new CompressedWriter(image, writer) : null;
        this.ioEngine = image.file().engineName();
        this.subclusterDiscard = subclusterDiscard;
    }

    /**
     * The first step of growing to {@code newSize}: makes {@code [from, to)}, beyond the current end, read as zeros
     * instead of the backing data there, durably, before the header's size makes it part of the disk. A crash in
     * between leaves zero entries past the end, which nothing reads.
     */
    void zeroBeyondEnd(long from, long to, long newSize) throws IOException {
        image.lock().lock();
        try {
            image.checkWritable();
            image.growL1For(newSize);
        } finally {
            image.lock().unlock();
        }
        new ZeroWriter(image, reader, writer, newSize, subclusterDiscard).writeZeroes(from, to - from, false);
        flushNow();
    }

    /** The image's metadata (for check, inspection tools and tests). */
    public Qcow2Image image() {
        return image;
    }

    /** Bytes read from the backing chain so far (COW and reads of unallocated data). */
    public long backingBytesRead() {
        return backing.bytesRead();
    }

    /** Virtual size of the backing image, 0 without one. */
    public long backingSize() {
        return backing.device() == null ? 0 : backing.device().size();
    }

    public List<Snapshot> snapshots() {
        return image.snapshots();
    }

    /** The snapshot table in the SPI's terms (icount is not parsed from the extra data yet: -1). */
    @Override
    public List<io.jblk.api.SnapshotLister.SnapshotInfo> snapshotList() {
        return snapshots().stream().map(s -> new io.jblk.api.SnapshotLister.SnapshotInfo(s.id(), s.name(),
                s.vmStateSize(), s.dateSeconds(), s.dateNanoseconds(), s.vmClockNanoseconds(), s.icount())).toList();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return !image.isWritable();
    }

    @Override
    public BlockLimits limits() {
        int cluster = image.geometry().clusterSize();
        int granularity = image.geometry().subclusterSize();
        return new BlockLimits(1, cluster, granularity, MAX_TRANSFER, Long.MAX_VALUE & -(long) granularity);
    }

    /** A request's body, run once it passed validation. */
    private interface Work<T> {
        T run() throws IOException;
    }

    /** Validates a request and returns its body; validation failures are thrown before anything runs. */
    private interface Request<T> {
        Work<T> validate() throws IOException;
    }

    /** Runs a request on a virtual thread of its own: the asynchronous API. */
    private <T> CompletableFuture<T> submit(Request<T> request) {
        Work<T> work;
        try {
            work = request.validate();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (closed || inFlight.register() < 0) {
            return CompletableFuture.failedFuture(closedException());
        }
        CompletableFuture<T> result = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    result.complete(work.run());
                } catch (IOException | RuntimeException | Error e) {
                    result.completeExceptionally(e);
                } finally {
                    inFlight.arriveAndDeregister();
                }
            });
        } catch (RuntimeException e) {
            inFlight.arriveAndDeregister();
            result.completeExceptionally(e);
        }
        return result;
    }

    /** Runs a request on the calling thread: the blocking API, no thread hand-off. */
    private <T> T runHere(Request<T> request) throws IOException {
        Work<T> work = request.validate();
        if (closed || inFlight.register() < 0) {
            throw closedException();
        }
        try {
            return work.run();
        } finally {
            inFlight.arriveAndDeregister();
        }
    }

    private DeviceClosedException closedException() {
        return new DeviceClosedException("qcow2 image " + image.path() + " is closed");
    }

    private Request<Void> readRequest(long offset, MemorySegment buffer) {
        return () -> {
            RequestChecks.checkRange("read", offset, buffer.byteSize(), size);
            return () -> {
                reader.read(offset, buffer);
                return null;
            };
        };
    }

    private Request<Void> writeRequest(long offset, MemorySegment data, boolean fua) {
        return () -> {
            RequestChecks.checkWrite("write", offset, data.byteSize(), size, isReadOnly());
            return () -> {
                if (compressor != null) {
                    writeCompressed(offset, data);
                } else {
                    writer.write(offset, data);
                }
                afterWrite(fua);
                return null;
            };
        };
    }

    private Request<Void> writeZeroesRequest(long offset, long length, boolean mayUnmap) {
        return () -> {
            RequestChecks.checkWrite("write-zeroes", offset, length, size, isReadOnly());
            return () -> {
                zeros.writeZeroes(offset, length, mayUnmap);
                afterWrite(false);
                return null;
            };
        };
    }

    private Request<Void> discardRequest(long offset, long length) {
        return () -> {
            RequestChecks.checkWrite("discard", offset, length, size, isReadOnly());
            return () -> {
                zeros.discard(offset, length);
                afterWrite(false);
                return null;
            };
        };
    }

    private Request<Void> flushRequest() {
        return () -> () -> {
            if (!isReadOnly()) {
                flushNow();
            }
            return null;
        };
    }

    private Request<List<Extent>> statusRequest(long offset, long length, int maxExtents) {
        return () -> {
            RequestChecks.checkRange("block status", offset, length, size);
            RequestChecks.checkExtentLimit(maxExtents);
            return () -> length == 0 ? List.of() : reader.status(offset, length, maxExtents);
        };
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        return submit(readRequest(offset, buffer));
    }

    @Override
    public void readBlocking(long offset, MemorySegment buffer) throws IOException {
        runHere(readRequest(offset, buffer));
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        return submit(writeRequest(offset, data, fua));
    }

    @Override
    public void writeBlocking(long offset, MemorySegment data, boolean fua) throws IOException {
        runHere(writeRequest(offset, data, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        return submit(writeZeroesRequest(offset, length, mayUnmap));
    }

    @Override
    public void writeZeroesBlocking(long offset, long length, boolean mayUnmap) throws IOException {
        runHere(writeZeroesRequest(offset, length, mayUnmap));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return submit(discardRequest(offset, length));
    }

    @Override
    public void discardBlocking(long offset, long length) throws IOException {
        runHere(discardRequest(offset, length));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return submit(flushRequest());
    }

    @Override
    public void flushBlocking() throws IOException {
        runHere(flushRequest());
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        return submit(statusRequest(offset, length, Integer.MAX_VALUE));
    }

    @Override
    public List<Extent> blockStatusBlocking(long offset, long length) throws IOException {
        return runHere(statusRequest(offset, length, Integer.MAX_VALUE));
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        return submit(statusRequest(offset, length, maxExtents));
    }

    @Override
    public List<Extent> blockStatusBlocking(long offset, long length, int maxExtents) throws IOException {
        return runHere(statusRequest(offset, length, maxExtents));
    }

    /** Whole clusters go through the compressor; anything else, or what does not compress, is written normally. */
    private void writeCompressed(long offset, MemorySegment data) throws IOException {
        int cs = image.geometry().clusterSize();
        long end = offset + data.byteSize();
        long pos = offset;
        while (pos < end) {
            long clusterEnd = Math.min(end, (pos / cs + 1) * cs);
            MemorySegment part = data.asSlice(pos - offset, clusterEnd - pos);
            boolean whole = pos % cs == 0 && (clusterEnd - pos == cs || clusterEnd == size);
            if (!whole || !compressor.write(pos / cs, part)) {
                writer.write(pos, part);
            }
            pos = clusterEnd;
        }
    }

    private void afterWrite(boolean fua) throws IOException {
        if (fua || image.needsWriteback()) {
            flushNow();
        }
    }

    private void flushNow() throws IOException {
        image.lock().lock();
        try {
            image.flush();
        } finally {
            image.lock().unlock();
        }
    }

    @Override
    public ImageInfo info() throws IOException {
        Qcow2Header h = image.header();
        Map<String, Object> specific = new LinkedHashMap<>();
        // Field set and order as qemu-img 7.2: v2 images report only compat, compression type and refcount width.
        specific.put("compat", h.version() == 2 ? "0.10" : "1.1");
        specific.put("compression-type", h.compressionTypeName());
        if (h.version() >= 3) {
            specific.put("lazy-refcounts", h.hasLazyRefcounts());
        }
        specific.put("refcount-bits", h.refcountBits());
        if (h.version() >= 3) {
            specific.put("corrupt", h.isCorrupt() || image.corruption() != null);
            specific.put("extended-l2", h.isExtendedL2());
        }
        if (h.dataFile() != null) {
            specific.put("data-file", h.dataFile());
            specific.put("data-file-raw", h.isDataFileRaw());
        }
        String fullBacking = h.backingFile() == null ? null
                : Qcow2Image.resolve(image.path(), h.backingFile()).toString();
        String backingFormat = h.backingFormat();
        return new ImageInfo("qcow2", size, h.clusterSize(), h.backingFile(), fullBacking, backingFormat,
                image.isDirty(), specific, ioEngine);
    }

    @Override
    public long hostClusterSize() {
        return image.geometry().clusterSize();
    }

    /** Each cluster of the image file: metadata (named), referenced data, or free; for allocation pictures. */
    @Override
    public List<HostRange> hostLayout() throws IOException {
        List<HostRange> out = new java.util.ArrayList<>();
        int bits = image.geometry().clusterBits();
        image.lock().lock();
        try {
            long clusters = (image.file().size() + (1L << bits) - 1) >>> bits;
            for (long c = 0; c < clusters; c++) {
                var kind = image.metadata().kindOf(c);
                Use use = kind != null ? Use.METADATA : image.refcounts().get(c) > 0 ? Use.DATA : Use.FREE;
                String what = kind != null ? kind.description() : use == Use.DATA ? "guest data" : "free";
                HostRange last = out.isEmpty() ? null : out.getLast();
                if (last != null && last.use() == use && last.what().equals(what)) {
                    out.set(out.size() - 1, new HostRange(last.offset(), last.length() + (1L << bits), use, what));
                } else {
                    out.add(new HostRange(c << bits, 1L << bits, use, what));
                }
            }
        } finally {
            image.lock().unlock();
        }
        return out;
    }

    @Override
    public CheckResult check(Repair repair) throws IOException {
        if (repair != Repair.NONE && isReadOnly()) {
            throw new ReadOnlyDeviceException("check with repair", 0, 0);
        }
        image.lock().lock();
        try {
            return new Qcow2Checker(image).check(repair);
        } finally {
            image.lock().unlock();
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        inFlight.arriveAndAwaitAdvance();
        executor.shutdown();
        try {
            image.lock().lock();
            try {
                image.close();
            } finally {
                image.lock().unlock();
            }
        } finally {
            if (backing.device() != null) {
                backing.device().close();
            }
        }
    }
}
