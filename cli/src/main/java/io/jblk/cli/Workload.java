package io.jblk.cli;

import io.jblk.api.BlockDevice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongUnaryOperator;

/**
 * Issues {@code count} reads or writes of {@code size} bytes with at most {@code depth} in flight, at offsets from an
 * offset generator, and measures the wall time. One buffer per slot, so no buffer is reused while in flight.
 */
final class Workload {
    record Result(long requests, long bytes, long nanos) {
        double seconds() {
            return nanos / 1e9;
        }

        double iops() {
            return requests / Math.max(seconds(), 1e-9);
        }

        double mibPerSecond() {
            return bytes / Math.max(seconds(), 1e-9) / (1 << 20);
        }
    }

    private Workload() {
    }

    /**
     * @param offsets        gives request i's offset from i
     * @param flushInterval  flush after every so many requests, waiting for those in flight first (0 = never)
     */
    static Result run(BlockDevice device, boolean write, long count, int depth, int size, byte pattern,
                      LongUnaryOperator offsets, long flushInterval) throws IOException {
        // The loop runs on a virtual thread: a completing request (itself on a virtual thread in the drivers) then
        // hands its buffer back by waking a continuation on a carrier instead of a parked platform thread, one OS
        // wake-up less per request (+24% IOPS with the threads engine, +29% with io_uring on qcow2; see
        // docs/performance.md).
        Result[] result = new Result[1];
        IOException[] failed = new IOException[1];
        Thread loop = Thread.ofVirtual().name("jblk-bench").start(() -> {
            try {
                result[0] = runHere(device, write, count, depth, size, pattern, offsets, flushInterval);
            } catch (IOException e) {
                failed[0] = e;
            }
        });
        try {
            loop.join();
        } catch (InterruptedException e) {
            loop.interrupt();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (failed[0] != null) {
            throw failed[0];
        }
        return result[0];
    }

    private static Result runHere(BlockDevice device, boolean write, long count, int depth, int size, byte pattern,
                                  LongUnaryOperator offsets, long flushInterval) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            BlockingQueue<MemorySegment> free = new ArrayBlockingQueue<>(depth);
            for (int i = 0; i < depth; i++) {
                MemorySegment buffer = Buffers.allocate(arena, size).asSlice(0, size);
                buffer.fill(pattern);
                free.add(buffer);
            }
            AtomicReference<Throwable> failure = new AtomicReference<>();
            long start = System.nanoTime();
            for (long i = 0; i < count && failure.get() == null; i++) {
                MemorySegment buffer = take(free);
                long offset = offsets.applyAsLong(i);
                CompletableFuture<Void> request = write ? device.write(offset, buffer) : device.read(offset, buffer);
                request.whenComplete((ok, error) -> {
                    if (error != null) {
                        failure.compareAndSet(null, new IOException((write ? "write" : "read") + " at offset "
                                + offset + ": " + Images.describe(error), error));
                    }
                    free.add(buffer);
                });
                if (flushInterval > 0 && (i + 1) % flushInterval == 0) {
                    drain(free, depth);
                    Await.get(device.flush(), "flush");
                }
            }
            drain(free, depth);
            // timed like qemu-img bench: until the last request completes; the closing flush is not part of the run
            long nanos = System.nanoTime() - start;
            if (write) {
                Await.get(device.flush(), "flush");
            }
            if (failure.get() != null) {
                throw failure.get() instanceof IOException io ? io : new IOException(failure.get());
            }
            return new Result(count, count * (long) size, nanos);
        }
    }

    /** Waits until every buffer is back, i.e. nothing is in flight. */
    private static void drain(BlockingQueue<MemorySegment> free, int depth) throws IOException {
        MemorySegment[] all = new MemorySegment[depth];
        for (int i = 0; i < depth; i++) {
            all[i] = take(free);
        }
        for (MemorySegment b : all) {
            free.add(b);
        }
    }

    private static MemorySegment take(BlockingQueue<MemorySegment> free) throws IOException {
        try {
            return free.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
