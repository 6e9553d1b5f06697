package io.jblk.bridge;

import io.jblk.api.CreateOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import io.jblk.api.testing.ShadowDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkRequest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * The shadow-disk workload through the whole stack: several guest threads, several queues, direct and indirect
 * chains, many requests in flight, then the image file is compared with the shadow.
 */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING", "POLLED_COPYING"})
class WorkloadTest {
    @Parameter
    Wiring wiring;

    static final int THREADS = 4;
    static final int LANES = 32;          // requests each thread keeps in flight
    static final int LANE_BYTES = 256 << 10;
    static final int OPS_PER_LANE = 40;

    @TempDir
    Path dir;

    @Test
    void randomMixedWorkloadMatchesTheShadow() throws Exception {
        int size = THREADS * LANES * LANE_BYTES;
        long seed = SeededRandom.forTest("bridge-workload").nextLong();
        byte[] initial = new byte[size];
        new SplittableRandom(seed).nextBytes(initial);
        ShadowDisk shadow = new ShadowDisk(initial);
        AtomicInteger maxInFlight = new AtomicInteger();
        int queues = 3;
        try (Fixture f = new Fixture(wiring, dir, size, initial, false, queues, 128, null);
             ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
            assertTrue(f.guest.initialize(ALL_FEATURES, queues, 128));
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(pool.submit(() -> {
                    runLanes(f, shadow, new SplittableRandom(seed + thread), thread, thread % queues, maxInFlight);
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
            var all = await(f.guest.read(0, 0, size / 8, 32, true));
            assertEquals(S_OK, all.status());
            assertEquals(-1, shadow.firstMismatch(0, all.data()), SeededRandom.withSeed("full read", seed));
        }
        assertTrue(maxInFlight.get() >= 64, "requests outstanding in the guest at once: " + maxInFlight.get());
        assertEquals(-1, shadow.firstMismatch(0, Files.readAllBytes(dir.resolve("disk.raw"))),
                SeededRandom.withSeed("image content after close", seed));
    }

    /**
     * The same workload on qcow2 with extended L2 entries (64 KiB clusters, 2 KiB subclusters): then
     * {@code qemu-img check} is clean and QEMU reads back exactly the shadow.
     */
    @Test
    void qcow2WithExtendedL2UnderTheWorkloadStaysConsistentForQemu() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        int size = THREADS * LANES * LANE_BYTES;
        long seed = SeededRandom.forTest("bridge-workload-qcow2").nextLong();
        ShadowDisk shadow = new ShadowDisk(new byte[size]);
        AtomicInteger maxInFlight = new AtomicInteger();
        int queues = 2;
        CreateOptions create = CreateOptions.builder(size).option("cluster_size", "65536")
                .option("extended_l2", "on").build();
        try (Fixture f = new Fixture(wiring, dir, "qcow2", create, null, false, queues, 128, null);
             ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
            assertTrue(f.guest.initialize(ALL_FEATURES, queues, 128));
            assertEquals(4, f.device().config().discardSectorAlignment(), "2 KiB subclusters, in sectors");
            assertEquals(128, f.device().config().optIoSize(), "64 KiB clusters, in blocks");
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                workers.add(pool.submit(() -> {
                    runLanes(f, shadow, new SplittableRandom(seed + thread), thread, thread % queues, maxInFlight);
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
        }
        assertTrue(maxInFlight.get() >= 64, "requests outstanding in the guest at once: " + maxInFlight.get());
        Path image = dir.resolve("disk.qcow2");
        ExternalTool.qemuImg("check", "-f", "qcow2", image.toString()).ok();
        Path converted = dir.resolve("converted.raw");
        ExternalTool.qemuImg("convert", "-f", "qcow2", "-O", "raw", image.toString(), converted.toString()).ok();
        assertEquals(-1, shadow.firstMismatch(0, Files.readAllBytes(converted)),
                SeededRandom.withSeed("qcow2 content as QEMU reads it", seed));
    }

    @Test
    void manyRequestsInFlightCompleteOutOfOrder() throws Exception {
        int size = 8 << 20;
        byte[] initial = new byte[size];
        SplittableRandom random = SeededRandom.forTest("bridge-out-of-order");
        random.nextBytes(initial);
        ShadowDisk shadow = new ShadowDisk(initial);
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(wiring, dir, size, initial, false, 2, 128, d -> held[0] = new ControlledDevice(d, null))) {
            assertTrue(f.guest.initialize(ALL_FEATURES, 2, 128));
            held[0].holdEach();
            List<Op> ops = new ArrayList<>();
            for (int i = 0; i < 100; i++) {
                long offset = i * 65536L;
                if (i % 2 == 0) {
                    byte[] data = new byte[4096 * (1 + i % 4)];
                    random.nextBytes(data);
                    shadow.write(offset, data);
                    ops.add(new Op(f.guest.write(i % 2, offset / 512, data, 2, true), T_OUT, offset,
                            data.length));
                } else {
                    ops.add(new Op(f.guest.read(i % 2, offset / 512, 8192, 3, true), T_IN, offset, 8192));
                }
            }
            try {
                // polled mode: the CPU loop takes the kicked chains a moment after the kicks
                Until.until("100 requests with the block device", () -> f.device().requestsInFlight() == 100);
                assertEquals(100, f.device().requestsInFlight(), "every request is with the block device at once");
                assertEquals(100, f.guest.pendingCount(), "nothing completed while held");
            } finally {
                held[0].releaseHeld(random); // also on failure: closing the device waits for held requests
            }
            for (Op op : ops) {
                check(op, shadow);
            }
            // The guest may see the last completion a moment before the device's count drops; it must reach 0.
            while (f.device().requestsInFlight() != 0) {
                Thread.onSpinWait();
            }
        }
    }

    private record Op(CompletableFuture<GuestBlkDriver.Result> result, int type, long offset, int length) {
    }

    /** Each lane owns a disjoint range and has at most one request in flight, so every result is predictable. */
    private static void runLanes(Fixture f, ShadowDisk shadow, SplittableRandom random, int thread, int queue,
                                 AtomicInteger maxInFlight) throws Exception {
        Op[] lanes = new Op[LANES];
        for (int round = 0; round < OPS_PER_LANE; round++) {
            for (int lane = 0; lane < LANES; lane++) {
                if (lanes[lane] != null) {
                    check(lanes[lane], shadow);
                }
                long base = ((long) thread * LANES + lane) * LANE_BYTES;
                int length = (1 + random.nextInt(64)) * 512;
                long offset = base + random.nextInt((LANE_BYTES - length) / 512 + 1) * 512L;
                boolean indirect = random.nextBoolean();
                int splits = 1 + random.nextInt(4);
                int pick = random.nextInt(100);
                Op op;
                if (pick < 40) {
                    op = new Op(f.guest.read(queue, offset / 512, length, splits, indirect), T_IN, offset, length);
                } else if (pick < 75) {
                    byte[] data = new byte[length];
                    random.nextBytes(data);
                    synchronized (shadow) {
                        shadow.write(offset, data);
                    }
                    op = new Op(f.guest.write(queue, offset / 512, data, splits, indirect), T_OUT, offset, length);
                } else if (pick < 85) {
                    synchronized (shadow) {
                        shadow.zero(offset, length);
                    }
                    op = new Op(f.guest.ranges(queue, T_WRITE_ZEROES, new long[][]{{offset / 512, length / 512,
                            random.nextInt(2)}}, indirect), T_WRITE_ZEROES, offset, length);
                } else if (pick < 93) {
                    synchronized (shadow) {
                        shadow.forget(offset, length);
                    }
                    op = new Op(f.guest.ranges(queue, T_DISCARD, new long[][]{{offset / 512, length / 512, 0}},
                            indirect), T_DISCARD, offset, length);
                } else if (pick < 97) {
                    op = new Op(f.guest.flush(queue), T_FLUSH, 0, 0);
                } else {
                    op = new Op(f.guest.getId(queue), T_GET_ID, 0, 0);
                }
                lanes[lane] = op;
                maxInFlight.accumulateAndGet(f.guest.pendingCount(), Math::max);
            }
        }
        for (Op op : lanes) {
            if (op != null) {
                check(op, shadow);
            }
        }
    }

    private static void check(Op op, ShadowDisk shadow) throws Exception {
        var r = await(op.result());
        assertEquals(S_OK, r.status(), "request type " + op.type() + " at " + op.offset());
        if (op.type() == T_IN) {
            assertEquals(op.length() + 1, r.usedLength());
            long mismatch;
            synchronized (shadow) {
                mismatch = shadow.firstMismatch(op.offset(), r.data());
            }
            assertEquals(-1, mismatch, "read at " + op.offset() + " of " + op.length());
        }
    }
}
