package io.jblk.bridge;

import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkRequest.S_OK;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Multiqueue (MQ) with concurrent submitters on different queues, which a single-hart guest never exercises: every
 * queue holds requests in the block device at the same time and each gets exactly its own completions back; then
 * two submitter threads per queue run a verified read-after-write workload on all queues at once.
 */
@ParameterizedClass
@EnumSource(Wiring.class)
class MultiqueueTest {
    static final int QUEUES = 4;
    static final int PER_QUEUE = 2;          // submitter threads per queue
    static final int HELD_PER_QUEUE = 6;
    static final int LANES = 8;              // requests each submitter keeps in flight
    static final int OPS = 240;              // per submitter
    static final int BLOCK = 8192;

    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;

    @Test
    void everyQueueHoldsRequestsAtOnceAndGetsItsOwnCompletions() throws Exception {
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(wiring, dir, 16 << 20, null, false, QUEUES, 128,
                d -> held[0] = new ControlledDevice(d, null));
             ExecutorService pool = Executors.newFixedThreadPool(QUEUES)) {
            GuestBlkDriver g = f.guest;
            assertTrue(g.initialize(ALL_FEATURES, QUEUES, 128));
            assertTrue(VirtioBlkFeatures.has(g.negotiated, VirtioBlkFeatures.MQ));
            assertEquals(QUEUES, g.config(34, 2), "num_queues");
            held[0].closeGate();
            CyclicBarrier start = new CyclicBarrier(QUEUES);
            List<Future<List<CompletableFuture<GuestBlkDriver.Result>>>> submitted = new ArrayList<>();
            for (int q = 0; q < QUEUES; q++) {
                int queue = q;
                submitted.add(pool.submit(() -> {
                    start.await();
                    List<CompletableFuture<GuestBlkDriver.Result>> mine = new ArrayList<>();
                    for (int i = 0; i < HELD_PER_QUEUE; i++) {
                        mine.add(g.write(queue, sector(queue, 0, i), pattern(queue, 0, i), 2, i % 2 == 0));
                    }
                    return mine;
                }));
            }
            List<List<CompletableFuture<GuestBlkDriver.Result>>> results = new ArrayList<>();
            try {
                for (Future<List<CompletableFuture<GuestBlkDriver.Result>>> s : submitted) {
                    results.add(s.get());
                }
                Until.until("every queue's requests with the block device at once",
                        () -> f.device().requestsInFlight() == QUEUES * HELD_PER_QUEUE);
                NegotiatedState state = f.device().lastNegotiation();
                for (int q = 0; q < QUEUES; q++) {
                    assertEquals(HELD_PER_QUEUE, state.queues().get(q).nextAvailIndex(), "queue " + q + " taken");
                    assertEquals(0, state.queues().get(q).usedIndex(), "queue " + q + ": nothing completed yet");
                }
            } finally {
                held[0].open();
            }
            for (int q = 0; q < QUEUES; q++) {
                for (CompletableFuture<GuestBlkDriver.Result> r : results.get(q)) {
                    assertEquals(S_OK, await(r).status());
                }
                assertEquals(HELD_PER_QUEUE, g.queues.get(q).usedIdxInRing(), "queue " + q + " got its own back");
            }
            for (int q = 0; q < QUEUES; q++) {
                for (int i = 0; i < HELD_PER_QUEUE; i++) {
                    assertArrayEquals(pattern(q, 0, i), await(g.read((q + 1) % QUEUES, sector(q, 0, i), BLOCK, 3,
                            false)).data(), "written through queue " + q + ", read through another");
                }
            }
        }
    }

    @Test
    void twoSubmittersPerQueueOnEveryQueueAtOnce() throws Exception {
        long seed = SeededRandom.forTest("bridge-multiqueue-" + wiring).nextLong();
        try (Fixture f = new Fixture(wiring, dir, 16 << 20, null, false, QUEUES, 128, null);
             ExecutorService pool = Executors.newFixedThreadPool(QUEUES * PER_QUEUE)) {
            GuestBlkDriver g = f.guest;
            assertTrue(g.initialize(ALL_FEATURES, QUEUES, 128));
            CyclicBarrier start = new CyclicBarrier(QUEUES * PER_QUEUE);
            List<Future<?>> workers = new ArrayList<>();
            for (int t = 0; t < QUEUES * PER_QUEUE; t++) {
                int submitter = t;
                workers.add(pool.submit(() -> {
                    start.await();
                    lanes(g, submitter % QUEUES, submitter, new SplittableRandom(seed + submitter));
                    return null;
                }));
            }
            for (Future<?> w : workers) {
                w.get();
            }
            for (int q = 0; q < QUEUES; q++) {
                GuestQueue queue = g.queues.get(q);
                assertEquals(PER_QUEUE * OPS & 0xFFFF, queue.usedIdxInRing(), "queue " + q + ": every request came "
                        + "back on the queue it was submitted to");
            }
        }
    }

    /** Each lane owns one block and alternates a write of a fresh pattern with a read that must return it. */
    private static void lanes(GuestBlkDriver g, int queue, int submitter, SplittableRandom random) throws Exception {
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[LANES];
        int[] round = new int[LANES];
        for (int op = 0; op < OPS; op++) {
            int lane = op % LANES;
            if (inFlight[lane] != null) {
                await(inFlight[lane]);
            }
            int r = round[lane]++;
            long sector = sector(submitter, 1, lane);
            boolean indirect = random.nextBoolean();
            int splits = 1 + random.nextInt(3);
            if (r % 2 == 0) {
                inFlight[lane] = g.write(queue, sector, pattern(submitter, lane, r), splits, indirect)
                        .thenAccept(res -> assertEquals(S_OK, res.status()));
            } else {
                byte[] want = pattern(submitter, lane, r - 1);
                inFlight[lane] = g.read(queue, sector, BLOCK, splits, indirect).thenAccept(res -> {
                    assertEquals(S_OK, res.status());
                    assertArrayEquals(want, res.data(), "submitter " + submitter + " lane " + lane);
                });
            }
        }
        for (CompletableFuture<?> f : inFlight) {
            if (f != null) {
                await(f);
            }
        }
    }

    private static long sector(int owner, int area, int lane) {
        return ((long) area * 1024 + (long) owner * 64 + lane) * (BLOCK / 512); // 1,544 blocks of 8 KiB at most
    }

    private static byte[] pattern(int owner, int lane, int round) {
        byte[] data = new byte[BLOCK];
        Arrays.fill(data, (byte) (owner * 31 + lane * 7 + round));
        ByteBuffer.wrap(data).putInt(owner).putInt(lane).putInt(round);
        return data;
    }
}
