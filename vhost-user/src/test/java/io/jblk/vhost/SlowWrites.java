package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

/**
 * A device whose writes start {@code delayMillis} late, so that a back-end killed at any moment has requests in
 * flight (the guest's O_DIRECT writers keep it busy); everything else goes straight through.
 */
final class SlowWrites implements BlockDevice {
    private final BlockDevice inner;
    private final Executor later;

    SlowWrites(BlockDevice inner, long delayMillis) {
        this.inner = inner;
        this.later = CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS);
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
        return inner.read(offset, buffer);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        return CompletableFuture.supplyAsync(() -> null, later).thenCompose(v -> inner.write(offset, data, fua));
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
        return inner.blockStatus(offset, length);
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
