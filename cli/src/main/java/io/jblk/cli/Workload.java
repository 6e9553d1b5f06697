package io.jblk.cli;

import io.jblk.api.BlockDevice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantReadWriteLock;
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
        // One virtual thread per queue slot, each issuing its requests in the blocking form: the driver then serves
        // a request on the slot's own thread, with no hand-off to a request thread and back (see
        // docs/performance.md for what each removed hand-off was worth).
        // The offset generators are sequential (qemu-img bench's walk depends on the previous offset): one lock hands
        // out the next index and its offset together.
        Object claim = new Object();
        long[] next = {0};
        AtomicReference<IOException> failure = new AtomicReference<>();
        // Fair: a waiting flush holds back new requests, so it waits only for those already in flight.
        ReentrantReadWriteLock flushGate = new ReentrantReadWriteLock(true);
        try (Arena arena = Arena.ofShared()) {
            List<MemorySegment> buffers = new ArrayList<>(depth);
            for (int s = 0; s < depth; s++) {
                MemorySegment buffer = Buffers.allocate(arena, size).asSlice(0, size);
                buffer.fill(pattern);
                buffers.add(buffer);
            }
            List<Thread> slots = new ArrayList<>(depth);
            long start = System.nanoTime();
            for (int s = 0; s < depth; s++) {
                MemorySegment buffer = buffers.get(s);
                slots.add(Thread.ofVirtual().name("jblk-bench-", s).start(() -> {
                    while (failure.get() == null) {
                        long i;
                        long offset;
                        flushGate.readLock().lock();
                        try {
                            synchronized (claim) {
                                i = next[0]++;
                                if (i >= count) {
                                    return;
                                }
                                offset = offsets.applyAsLong(i);
                            }
                            issue(device, write, offset, buffer, failure);
                        } finally {
                            flushGate.readLock().unlock();
                        }
                        if (flushInterval > 0 && (i + 1) % flushInterval == 0) {
                            flushGate.writeLock().lock();
                            try {
                                device.flushBlocking();
                            } catch (IOException e) {
                                failure.compareAndSet(null, new IOException("flush: " + Images.describe(e), e));
                            } finally {
                                flushGate.writeLock().unlock();
                            }
                        }
                    }
                }));
            }
            for (Thread slot : slots) {
                join(slot);
            }
            // timed like qemu-img bench: until the last request completes; the closing flush is not part of the run
            long nanos = System.nanoTime() - start;
            if (failure.get() != null) {
                throw failure.get();
            }
            if (write) {
                Await.get(device.flush(), "flush");
            }
            return new Result(count, count * (long) size, nanos);
        }
    }

    private static void issue(BlockDevice device, boolean write, long offset, MemorySegment buffer,
                              AtomicReference<IOException> failure) {
        try {
            if (write) {
                device.writeBlocking(offset, buffer, false);
            } else {
                device.readBlocking(offset, buffer);
            }
        } catch (IOException | RuntimeException e) {
            failure.compareAndSet(null, new IOException((write ? "write" : "read") + " at offset " + offset + ": "
                    + Images.describe(e), e));
        }
    }

    private static void join(Thread slot) throws IOException {
        try {
            slot.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }
}
