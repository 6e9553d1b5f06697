package io.jblk.bridge;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioMmioTransport.INTERRUPT_STATUS;
import static io.jblk.bridge.VirtioMmioTransport.STATUS;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A reset in the middle of traffic, by each of its three doors: the emulator's board reset
 * ({@link VirtioMmioTransport#reset()}), {@code device().reset()}, and the guest's STATUS=0. Before it, an interrupt
 * is pending and requests are held in the block device (and, in polled mode, completed requests wait for
 * {@code poll()}). After it: the interrupt status is 0 and the line low; no completion from before is published,
 * then or later; guest memory does not change any more (no buffer of the old rings is written); the last
 * negotiation is still readable; and the driver initialises again and is served.
 */
@ParameterizedClass
@EnumSource(Wiring.class)
class ResetTest {
    static final int QUEUES = 2;
    static final int IN_FLIGHT = 24;
    static final int WAITING_FOR_POLL = 6;

    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;

    enum Door { TRANSPORT_RESET, DEVICE_RESET, GUEST_STATUS_ZERO }

    @ParameterizedTest
    @EnumSource(Door.class)
    void resetDuringTrafficPublishesNothingFromBeforeAndTheDriverStartsAgain(Door door) throws Exception {
        SplittableRandom random = io.jblk.api.testing.SeededRandom.forTest("bridge-reset-" + wiring + "-" + door);
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(wiring, dir, 4 << 20, null, false, QUEUES, 64,
                d -> held[0] = new ControlledDevice(d, null))) {
            GuestBlkDriver g = f.guest;
            g.handleInterrupts = false; // nobody acknowledges: the interrupt is still pending at the reset
            assertTrue(g.initialize(ALL_FEATURES, QUEUES, 64));
            long negotiated = g.negotiated;

            // Completed traffic: the line is up when the board resets.
            for (int i = 0; i < 4; i++) {
                g.write(i % QUEUES, i * 8L, pattern(i, 4096), 1, false);
            }
            Until.until("4 completions published", () -> usedSum(g) == 4);
            assertEquals(VirtioMmioTransport.INT_USED_BUFFER, g.reg(INTERRUPT_STATUS));
            g.awaitLine(true);
            List<Long> published = g.pendingStatusAddresses(); // the guest has not looked at them yet

            f.stopAutoPoll(); // polled mode: from here on the test is the CPU loop
            held[0].holdEach();
            int heldOps = 0;
            if (wiring.polled) {
                // Requests that complete before the reset but wait for poll(), which does not come before it.
                for (int i = 0; i < WAITING_FOR_POLL; i++) {
                    request(g, random, i);
                }
                f.mmio.poll();
                Until.until("the first batch with the block device",
                        () -> f.device().requestsInFlight() == WAITING_FOR_POLL);
                heldOps = held[0].heldCount();
            }
            for (int i = 0; i < IN_FLIGHT; i++) {
                request(g, random, 100 + i);
            }
            f.mmio.poll();
            int expectedInFlight = IN_FLIGHT + (wiring.polled ? WAITING_FOR_POLL : 0);
            Until.until("every request with the block device", () -> f.device().requestsInFlight() == expectedInFlight);
            if (wiring.polled) {
                held[0].releaseFirst(heldOps);
                Until.until("the first batch complete, waiting for poll()",
                        () -> f.device().completionsWaiting() == WAITING_FOR_POLL);
            }
            int[] usedBefore = new int[QUEUES];
            for (int q = 0; q < QUEUES; q++) {
                usedBefore[q] = g.queues.get(q).usedIdxInRing();
            }
            List<Long> statusBytes = new java.util.ArrayList<>(g.pendingStatusAddresses());
            statusBytes.removeAll(published);
            assertEquals(expectedInFlight, statusBytes.size());

            Thread board = Thread.ofPlatform().name("board-reset").start(() -> {
                switch (door) {
                    case TRANSPORT_RESET -> f.mmio.reset();
                    case DEVICE_RESET -> f.device().reset();
                    case GUEST_STATUS_ZERO -> g.reg(STATUS, 0);
                }
            });
            Until.until("the reset stops the queues", () -> !f.device().queueReady(0) && !f.device().queueReady(1));
            assertTrue(board.isAlive(), "the reset waits for the requests the block device still holds");
            held[0].releaseHeld(random); // they complete during the reset: too late to be published
            board.join(60_000);
            assertFalse(board.isAlive(), "the reset returned once the block device gave its requests back");

            assertEquals(0, g.reg(INTERRUPT_STATUS), "interrupt status cleared by the reset");
            if (wiring.polled) {
                assertFalse(g.lineAsserted(), "polled: the reset lowered the line before it returned");
            }
            g.awaitLine(false); // threaded: a delivery already in progress lowers it right after
            assertEquals(0, g.reg(STATUS));
            assertEquals(0, f.device().requestsInFlight());
            MemorySegment ramAfterReset = copy(f.ram.allocated());
            assertEquals(0, f.mmio.poll(), "a poll after the reset publishes nothing from before it");
            assertTrue(f.device().drain(java.time.Duration.ofSeconds(60)));
            for (int q = 0; q < QUEUES; q++) {
                assertEquals(usedBefore[q], g.queues.get(q).usedIdxInRing(), "queue " + q + ": no used element "
                        + "from before the reset is published after it");
            }
            for (long s : statusBytes) {
                assertEquals((byte) 0xFF, f.ram.at(s, 1).get(ValueLayout.JAVA_BYTE, 0), "status byte untouched");
            }
            assertEquals(-1, ramAfterReset.mismatch(f.ram.ram.asSlice(0, ramAfterReset.byteSize())),
                    "guest memory changed after the reset returned");
            assertFalse(g.lineAsserted());

            NegotiatedState last = f.device().lastNegotiation();
            assertNotNull(last, "the last negotiation outlives the reset");
            assertEquals(0, f.device().driverFeatures(), "the registers read 0 after the reset");
            assertEquals(negotiated, last.driverFeatures());
            assertNotEquals(0, last.status() & DeviceStatus.DRIVER_OK, "status as it was before the reset");
            for (int q = 0; q < QUEUES; q++) {
                NegotiatedState.Queue s = last.queues().get(q);
                assertTrue(s.ready());
                assertEquals(64, s.size());
                assertEquals(g.queues.get(q).desc, s.descAddress());
                assertEquals(usedBefore[q], s.usedIndex());
                assertEquals(g.queues.get(q).availIdx(), s.nextAvailIndex(), "every published chain was taken");
            }

            f.resumeAutoPoll();
            g.handleInterrupts = true;
            assertTrue(g.initialize(ALL_FEATURES, QUEUES, 64), "the driver initialises again");
            for (int q = 0; q < QUEUES; q++) {
                byte[] data = pattern(50 + q, 8192);
                assertEquals(VirtioBlkRequest.S_OK, await(g.write(q, 64 + 16L * q, data, 2, q == 1)).status());
                assertArrayEquals(data, await(g.read(1 - q, 64 + 16L * q, 8192, 2, q == 0)).data());
            }
            assertNull(f.device().lastNegotiation().queues().stream().filter(s -> !s.ready()).findAny()
                    .orElse(null), "live again: both queues ready");
        }
    }

    /** A read into page-aligned buffers (zero-copy when memory allows it), a write, or a flush, on either queue. */
    private static void request(GuestBlkDriver g, SplittableRandom random, int i) {
        int queue = i % QUEUES;
        long sector = 8L * (16 + i);
        switch (random.nextInt(3)) {
            case 0 -> g.read(queue, sector, 8192, 2, random.nextBoolean());
            case 1 -> g.write(queue, sector, pattern(i, 4096), 1, random.nextBoolean());
            default -> g.flush(queue);
        }
    }

    private static int usedSum(GuestBlkDriver g) {
        int sum = 0;
        for (GuestQueue q : g.queues) {
            sum += q.usedIdxInRing();
        }
        return sum;
    }

    private static MemorySegment copy(MemorySegment ram) {
        return MemorySegment.ofArray(ram.toArray(ValueLayout.JAVA_BYTE));
    }

    static byte[] pattern(int seed, int length) {
        byte[] data = new byte[length];
        Arrays.fill(data, (byte) (seed * 37 + 11));
        return data;
    }
}
