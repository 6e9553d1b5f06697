package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;

/** A sequence of guest requests run one at a time against a device; the first failure ends it. */
@FunctionalInterface
public interface Workload {

    void run(BlockDevice device, SplittableRandom random) throws IOException;

    /** Waits for a request; failures come out as the IOException the device reported. */
    static void await(java.util.concurrent.CompletableFuture<?> request) throws IOException {
        try {
            request.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new AssertionError("request failed with an untyped " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /** Changes the virtual size (the device must be a {@link ResizableDevice}, e.g. a journaled one over it). */
    static void resize(BlockDevice device, long newSize) throws IOException {
        if (!(device instanceof ResizableDevice resizable)) {
            throw new IllegalArgumentException("a resizing workload needs a ResizableDevice, got "
                    + device.getClass().getSimpleName());
        }
        resizable.resize(newSize);
    }

    /** Writes {@code length} bytes of a pattern unique to ({@code tag}, offset) so stale data is recognisable. */
    static void write(BlockDevice device, long offset, int length, int tag) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment data = arena.allocate(length, 4096);
            for (int i = 0; i < length; i += 8) {
                data.set(java.lang.foreign.ValueLayout.JAVA_LONG_UNALIGNED, i,
                        ((long) tag << 40) ^ (offset + i) ^ 0x5a5a000000000000L);
            }
            await(device.write(offset, data));
        }
    }

    /**
     * Random sector-aligned writes (mostly 4 KiB, some up to {@code maxLength}), write-zeroes, discards and
     * flushes, every request waited for before the next.
     */
    static Workload mixed(int operations, int maxLength, int flushEvery, boolean zeroesAndDiscards) {
        return (device, random) -> {
            long sectors = device.size() / 512;
            for (int i = 0; i < operations; i++) {
                int lengthSectors = random.nextInt(4) == 0 ? 1 + random.nextInt(maxLength / 512) : 8;
                long start = random.nextLong(sectors - lengthSectors + 1);
                if (random.nextInt(2) == 0) {
                    start &= ~7L; // half the requests 4 KiB aligned, like a guest file system
                }
                int kind = zeroesAndDiscards ? random.nextInt(10) : 0;
                if (kind == 8) {
                    await(device.writeZeroes(start * 512, lengthSectors * 512L, random.nextBoolean()));
                } else if (kind == 9) {
                    await(device.discard(start * 512, lengthSectors * 512L));
                } else {
                    write(device, start * 512, lengthSectors * 512, i + 1);
                }
                if (flushEvery > 0 && random.nextInt(flushEvery) == 0) {
                    await(device.flush());
                }
            }
        };
    }
}
