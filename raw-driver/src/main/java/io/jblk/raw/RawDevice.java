package io.jblk.raw;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.DeviceClosedException;
import io.jblk.api.Extent;
import io.jblk.api.ExtentCollector;
import io.jblk.api.ImageInfo;
import io.jblk.api.RequestChecks;
import io.jblk.nativeio.HostFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** A raw image: every request goes straight to the host file at the same offset. */
public final class RawDevice implements BlockDevice {
    /** Granularity at which host filesystems allocate and punch (ext4, xfs, tmpfs pages). */
    private static final int HOST_BLOCK = 4096;
    private static final long MAX_TRANSFER = 64L << 20;

    private final HostFile file;
    private final long size;
    private final AtomicBoolean closed = new AtomicBoolean();
    /** Non-null when the format was probed and the device is writable: guards the bytes probing reads. */
    private final ProbedHeaderGuard probedHeader;

    public RawDevice(HostFile file) throws IOException {
        this(file, false);
    }

    /**
     * A raw device over {@code file}; {@code formatProbed}: the format was guessed by probing, so writes that would
     * make the file probe as another format are refused ({@link ProbedHeaderGuard}).
     */
    public RawDevice(HostFile file, boolean formatProbed) throws IOException {
        this.file = file;
        this.size = file.size();
        this.probedHeader = formatProbed && !file.isReadOnly() ? new ProbedHeaderGuard(file.path(), size) : null;
    }

    /** The host file behind this device (for callers that need its engine or path). */
    public HostFile hostFile() {
        return file;
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return file.isReadOnly();
    }

    @Override
    public BlockLimits limits() {
        return new BlockLimits(1, 0, HOST_BLOCK, MAX_TRANSFER, Long.MAX_VALUE & ~(HOST_BLOCK - 1L));
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        try {
            checkRead("read", offset, buffer.byteSize());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return file.read(offset, buffer).thenApply(n -> null);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        try {
            checkModify("write", offset, data.byteSize());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (guarded(offset, data.byteSize())) {
            return onOwnThread(data, () -> writeBlocking(offset, data, fua));
        }
        CompletableFuture<Void> written = file.write(offset, data);
        return fua ? written.thenCompose(v -> file.flush()) : written;
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        try {
            checkModify("write-zeroes", offset, length);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        if (guarded(offset, length)) {
            return onOwnThread(null, () -> writeZeroesBlocking(offset, length, mayUnmap));
        }
        return mayUnmap ? file.punchHole(offset, length) : file.zeroRange(offset, length);
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        try {
            checkModify("discard", offset, length);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (guarded(offset, length)) {
            return onOwnThread(null, () -> discardBlocking(offset, length));
        }
        return length == 0 ? CompletableFuture.completedFuture(null) : file.punchHole(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        try {
            checkOpen();
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
        return isReadOnly() ? CompletableFuture.completedFuture(null) : file.flush();
    }

    @Override
    public void readBlocking(long offset, MemorySegment buffer) throws IOException {
        checkRead("read", offset, buffer.byteSize());
        file.readBlocking(offset, buffer);
    }

    @Override
    public void writeBlocking(long offset, MemorySegment data, boolean fua) throws IOException {
        checkModify("write", offset, data.byteSize());
        if (guarded(offset, data.byteSize())) {
            probedHeader.guard(file, offset, data.byteSize(), data, () -> file.writeBlocking(offset, data));
        } else {
            file.writeBlocking(offset, data);
        }
        if (fua) {
            file.flushBlocking();
        }
    }

    @Override
    public void writeZeroesBlocking(long offset, long length, boolean mayUnmap) throws IOException {
        checkModify("write-zeroes", offset, length);
        if (guarded(offset, length)) {
            probedHeader.guard(file, offset, length, null, () -> zeroBlocking(offset, length, mayUnmap));
        } else if (length > 0) {
            zeroBlocking(offset, length, mayUnmap);
        }
    }

    private void zeroBlocking(long offset, long length, boolean mayUnmap) throws IOException {
        if (mayUnmap) {
            file.punchHoleBlocking(offset, length);
        } else {
            file.zeroRangeBlocking(offset, length);
        }
    }

    @Override
    public void discardBlocking(long offset, long length) throws IOException {
        checkModify("discard", offset, length);
        if (guarded(offset, length)) {
            probedHeader.guard(file, offset, length, null, () -> file.punchHoleBlocking(offset, length));
        } else if (length > 0) {
            file.punchHoleBlocking(offset, length);
        }
    }

    /** Whether a modification must pass the probed-format check first. */
    private boolean guarded(long offset, long length) {
        return probedHeader != null && probedHeader.touches(offset, length);
    }

    /**
     * A blocking body run for an asynchronous request (guarded requests only): on a virtual thread of its own, or on
     * the calling thread when {@code data} lives in an arena confined to it.
     */
    private static CompletableFuture<Void> onOwnThread(MemorySegment data, ProbedHeaderGuard.Modification body) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        Runnable run = () -> {
            try {
                body.run();
                result.complete(null);
            } catch (IOException | RuntimeException e) {
                result.completeExceptionally(e);
            }
        };
        Thread thread = Thread.ofVirtual().name("jblk-raw-probed-header").unstarted(run);
        if (data != null && !data.isAccessibleBy(thread)) {
            run.run();
        } else {
            thread.start();
        }
        return result;
    }

    @Override
    public void flushBlocking() throws IOException {
        checkOpen();
        if (!isReadOnly()) {
            file.flushBlocking();
        }
    }

    /** Data where the host file holds data, zeros over holes (SEEK_DATA / SEEK_HOLE), as qemu's file driver. */
    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        return blockStatus(offset, length, Integer.MAX_VALUE);
    }

    /** {@link #blockStatus(long, long)} that stops seeking once {@code maxExtents} extents are found. */
    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        try {
            checkRead("block-status", offset, length);
            RequestChecks.checkExtentLimit(maxExtents);
            ExtentCollector extents = new ExtentCollector(maxExtents);
            long end = offset + length;
            long at = offset;
            while (at < end) {
                long data = file.nextData(at);
                if (data < 0 || data >= end) {
                    extents.add(new Extent(at, end - at, false, true, true, 0, at, false));
                    break;
                }
                if (data > at && !extents.add(new Extent(at, data - at, false, true, true, 0, at, false))) {
                    break;
                }
                long hole = Math.min(end, Math.max(data + 1, file.nextHole(data)));
                if (!extents.add(new Extent(data, hole - data, true, false, true, 0, data, false))) {
                    break;
                }
                at = hole;
            }
            return CompletableFuture.completedFuture(extents.extents());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public ImageInfo info() throws IOException {
        checkOpen();
        return new ImageInfo(RawDriver.FORMAT, size, 0, null, null, null, false, Map.of(), file.engineName());
    }

    @Override
    public void close() throws IOException {
        if (closed.compareAndSet(false, true)) {
            try {
                if (!isReadOnly()) {
                    file.flush().join();
                }
            } finally {
                file.close();
            }
        }
    }

    /** The checks every reading request makes, asynchronous or blocking. */
    private void checkRead(String op, long offset, long length) throws IOException {
        checkOpen();
        RequestChecks.checkRange(op, offset, length, size);
    }

    /** The checks every modifying request makes, asynchronous or blocking. */
    private void checkModify(String op, long offset, long length) throws IOException {
        checkOpen();
        RequestChecks.checkWrite(op, offset, length, size, isReadOnly());
    }

    private void checkOpen() throws DeviceClosedException {
        if (closed.get()) {
            throw new DeviceClosedException("raw image " + file.path());
        }
    }

    @Override
    public String toString() {
        return "raw:" + file.path();
    }
}
