package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A device whose writes start {@code delayMillis} late; everything else goes straight through. Once the file
 * {@code hold} exists, writes are not started at all and "holding a write" is printed (once) when the first one
 * is held: a test that waits for that line and then kills the back-end knows requests are in flight at the kill,
 * however slowly the guest runs (a fixed delay alone left it to timing whether the guest had a write out).
 */
final class SlowWrites implements BlockDevice {
    private final BlockDevice inner;
    private final Executor later;
    private final Path hold;
    private final AtomicBoolean holding = new AtomicBoolean();

    SlowWrites(BlockDevice inner, long delayMillis, Path hold) {
        this.inner = inner;
        this.later = CompletableFuture.delayedExecutor(delayMillis, TimeUnit.MILLISECONDS);
        this.hold = hold;
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
        if (Files.exists(hold)) {
            if (!holding.getAndSet(true)) {
                System.out.println("holding a write");
                System.out.flush();
            }
            return new CompletableFuture<>(); // never completes: the process is killed with it in flight
        }
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
