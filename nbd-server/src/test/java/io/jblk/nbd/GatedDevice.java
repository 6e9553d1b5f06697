package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Delegates to a real device, except that reads at {@link #gatedOffset} (or all reads, with {@link #gateEveryRead})
 * wait until {@link #gate} completes, and that
 * with {@link #zeroFrom} set, block status reports everything from there on as a hole reading as zeros (true for
 * the tests that set it; the raw driver's own answer depends on the host file system's SEEK_HOLE support).
 */
final class GatedDevice implements BlockDevice {
    private final BlockDevice inner;
    volatile long gatedOffset = -1;
    /** Every read waits for the gate, not only the one at {@link #gatedOffset}. */
    volatile boolean gateEveryRead;
    final CompletableFuture<Void> gate = new CompletableFuture<>();
    /** Reads the device was asked for so far. */
    final java.util.concurrent.atomic.AtomicInteger reads = new java.util.concurrent.atomic.AtomicInteger();
    volatile long zeroFrom = -1;

    GatedDevice(BlockDevice inner) {
        this.inner = inner;
    }

    @Override
    public long size() {
        return inner.size();
    }

    @Override
    public boolean isReadOnly() {
        return inner.isReadOnly();
    }

    @Override
    public BlockLimits limits() {
        return inner.limits();
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        reads.incrementAndGet();
        if (offset == gatedOffset || gateEveryRead) {
            return gate.thenCompose(v -> inner.read(offset, buffer));
        }
        return inner.read(offset, buffer);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        return inner.write(offset, data, fua);
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        return inner.writeZeroes(offset, length, mayUnmap);
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return inner.discard(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return inner.flush();
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        long z = zeroFrom;
        if (z < 0) {
            return inner.blockStatus(offset, length);
        }
        List<Extent> out = new java.util.ArrayList<>();
        long end = offset + length;
        if (offset < z) {
            out.add(new Extent(offset, Math.min(end, z) - offset, true, false, true, 0, offset, false));
        }
        if (end > z) {
            long start = Math.max(offset, z);
            out.add(new Extent(start, end - start, false, true, true, 0, Extent.NO_OFFSET, false));
        }
        return CompletableFuture.completedFuture(out);
    }

    @Override
    public ImageInfo info() throws IOException {
        return inner.info();
    }

    @Override
    public void close() throws IOException {
        inner.close();
    }
}
