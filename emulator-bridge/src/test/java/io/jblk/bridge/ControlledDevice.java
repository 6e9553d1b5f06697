package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A real device wrapped so tests can change its reported limits and hold its completions until released (to put
 * requests deterministically "in flight").
 */
final class ControlledDevice implements BlockDevice {
    private final BlockDevice inner;
    private final BlockLimits limits;
    private volatile CompletableFuture<Void> gate = CompletableFuture.completedFuture(null);
    final AtomicInteger started = new AtomicInteger();
    /** Host addresses of the buffers reads were given, in order. */
    final java.util.List<Long> readBuffers = new java.util.concurrent.CopyOnWriteArrayList<>();

    ControlledDevice(BlockDevice inner, BlockLimits limits) {
        this.inner = inner;
        this.limits = limits == null ? inner.limits() : limits;
    }

    /** From now on completions wait until {@link #open()}. */
    void closeGate() {
        gate = new CompletableFuture<>();
    }

    void open() {
        gate.complete(null);
    }

    private final java.util.List<CompletableFuture<Void>> held = new java.util.concurrent.CopyOnWriteArrayList<>();
    private volatile boolean holdEach;

    /** From now on each request waits for its own release (see {@link #releaseHeld}). */
    void holdEach() {
        holdEach = true;
    }

    /** Releases every held request in a random order, so completions arrive out of submission order. */
    void releaseHeld(java.util.SplittableRandom random) {
        holdEach = false;
        java.util.List<CompletableFuture<Void>> all = new java.util.ArrayList<>(held);
        held.clear();
        for (int i = all.size() - 1; i > 0; i--) {
            java.util.Collections.swap(all, i, random.nextInt(i + 1));
        }
        all.forEach(g -> g.complete(null));
    }

    /** Releases the first {@code n} held operations, in the order they reached the device; the rest stay held. */
    void releaseFirst(int n) {
        java.util.List<CompletableFuture<Void>> first = new java.util.ArrayList<>(held.subList(0, n));
        held.removeAll(first);
        first.forEach(g -> g.complete(null));
    }

    int heldCount() {
        return held.size();
    }

    private <T> CompletableFuture<T> gated(Supplier<CompletableFuture<T>> op) {
        started.incrementAndGet();
        CompletableFuture<Void> g = gate;
        if (holdEach) {
            g = new CompletableFuture<>();
            held.add(g);
        }
        return g.thenCompose(v -> op.get());
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
        return limits;
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        readBuffers.add(buffer.address());
        return gated(() -> inner.read(offset, buffer));
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        return gated(() -> inner.write(offset, data, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        return gated(() -> inner.writeZeroes(offset, length, mayUnmap));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return gated(() -> inner.discard(offset, length));
    }

    /** When set, every flush fails with it. */
    volatile IOException failFlush;

    @Override
    public CompletableFuture<Void> flush() {
        IOException fail = failFlush;
        return fail != null ? CompletableFuture.failedFuture(fail) : gated(inner::flush);
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
