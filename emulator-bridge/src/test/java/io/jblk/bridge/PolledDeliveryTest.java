package io.jblk.bridge;

import io.jblk.api.testing.SeededRandom;
import io.jblk.api.testing.ShadowDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.VirtioBlkRequest.*;
import static io.jblk.bridge.VirtioMmioTransport.INTERRUPT_ACK;
import static io.jblk.bridge.VirtioMmioTransport.INTERRUPT_STATUS;
import static io.jblk.bridge.VirtioMmioTransport.INT_USED_BUFFER;
import static org.junit.jupiter.api.Assertions.*;

/**
 * Polled (single-threaded) delivery, with the test as the emulator's CPU loop: between its calls into the device
 * nothing the guest can see changes (guest RAM, so rings, status bytes and read data; the interrupt status; the
 * line), even while the I/O completes on jblk's threads; a kick is only recorded; {@code poll()} makes it all
 * happen at once, and the {@code workPending} hook, called on a jblk thread, says when there is something to poll.
 */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"POLLED_SEGMENT", "POLLED_COPYING"})
class PolledDeliveryTest {
    static final int ROUNDS = 40;
    static final int SIZE = 4 << 20;
    static final int SLOT = 16 << 10; // each request of a round in a range of its own

    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;

    private record Op(CompletableFuture<GuestBlkDriver.Result> result, int type, long offset, int length) {
    }

    @Test
    void guestVisibleStateChangesOnlyInsidePoll() throws Exception {
        SplittableRandom random = SeededRandom.forTest("bridge-polled-" + wiring);
        byte[] initial = new byte[SIZE];
        random.nextBytes(initial);
        ShadowDisk shadow = new ShadowDisk(initial);
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(wiring, dir, SIZE, initial, false, 2, 64,
                d -> held[0] = new ControlledDevice(d, null))) {
            f.stopAutoPoll();
            GuestBlkDriver g = f.guest;
            g.handleInterrupts = false; // the guest acts only when this loop says so
            assertTrue(g.initialize(ALL_FEATURES & ~VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX), 2, 64));
            f.mmio.poll(); // DRIVER_OK recorded a kick per queue
            for (int round = 0; round < ROUNDS; round++) {
                int n = 1 + random.nextInt(8);
                held[0].holdEach(); // the I/O finishes only after the snapshot below, on jblk's threads
                MemorySegment usedRings = usedRings(f);
                List<Op> ops = new ArrayList<>();
                java.util.Set<Integer> slots = new java.util.HashSet<>(); // requests of a round may run in any order
                for (int i = 0; i < n; i++) {
                    int slot;
                    do {
                        slot = random.nextInt(SIZE / SLOT);
                    } while (!slots.add(slot));
                    ops.add(submit(g, shadow, random, i % 2, (long) slot * SLOT));
                }
                assertEquals(0, f.device().requestsInFlight(), "round " + round + ": a kick is only recorded");
                assertEquals(-1, usedRings.mismatch(usedRings(f)), "the kicks left the used rings alone");
                assertEquals(0, g.reg(INTERRUPT_STATUS));

                int wakeups = f.wakeups.get(); // the kicks already woke the loop; the next wake-up is for I/O
                int published = f.mmio.poll(); // takes the chains; requests answered at once are published here
                MemorySegment ram = copy(f.ram.allocated());
                int isr = g.reg(INTERRUPT_STATUS);
                boolean line = g.lineAsserted();
                int rest = n - published;
                held[0].releaseHeld(random);
                Until.until("the I/O of the round complete, waiting for poll()",
                        () -> f.device().completionsWaiting() == rest);
                if (rest > 0) {
                    Until.until("the workPending hook", () -> f.wakeups.get() > wakeups);
                }
                assertEquals(-1, ram.mismatch(f.ram.ram.asSlice(0, ram.byteSize())),
                        "round " + round + ": guest memory changed outside poll()");
                assertEquals(isr, g.reg(INTERRUPT_STATUS), "interrupt status changed outside poll()");
                assertEquals(line, g.lineAsserted(), "the line changed outside poll()");

                assertEquals(rest, f.mmio.poll(), "poll() publishes every waiting completion");
                assertEquals(INT_USED_BUFFER, g.reg(INTERRUPT_STATUS));
                assertTrue(g.lineAsserted(), "poll() raised the line before it returned");
                g.reg(INTERRUPT_ACK, INT_USED_BUFFER);
                assertFalse(g.lineAsserted(), "the acknowledgement lowered it before it returned");
                for (GuestQueue q : g.queues) {
                    g.poll(q);
                }
                for (Op op : ops) {
                    check(op, shadow);
                }
            }
            assertTrue(f.wakeThreads.contains("jblk-virtio-wake"), "completions wake the CPU loop from a jblk "
                    + "delivery thread (kicks from the kicking thread): " + f.wakeThreads);
            for (String t : f.wakeThreads) {
                assertFalse(t.startsWith("jblk-") && !t.startsWith("jblk-virtio-"),
                        "the hook never runs on a block driver thread: " + t);
            }
        }
    }

    private static Op submit(GuestBlkDriver g, ShadowDisk shadow, SplittableRandom random, int queue, long offset) {
        int length = 4096 * (1 + random.nextInt(4));
        return switch (random.nextInt(6)) {
            case 0, 1 -> new Op(g.read(queue, offset / 512, length, 1 + random.nextInt(2), random.nextBoolean()),
                    T_IN, offset, length);
            case 2, 3 -> {
                byte[] data = new byte[length];
                random.nextBytes(data);
                shadow.write(offset, data);
                yield new Op(g.write(queue, offset / 512, data, 1 + random.nextInt(2), random.nextBoolean()),
                        T_OUT, offset, length);
            }
            case 4 -> new Op(g.getId(queue), T_GET_ID, 0, 0);
            default -> {
                shadow.zero(offset, length);
                yield new Op(g.ranges(queue, T_WRITE_ZEROES, new long[][]{{offset / 512, length / 512, 0}}, false),
                        T_WRITE_ZEROES, offset, length);
            }
        };
    }

    private static void check(Op op, ShadowDisk shadow) throws Exception {
        assertTrue(op.result().isDone(), "completed by the guest's look at the used ring after poll()");
        GuestBlkDriver.Result r = op.result().get();
        assertEquals(S_OK, r.status(), "type " + op.type());
        if (op.type() == T_IN) {
            assertEquals(-1, shadow.firstMismatch(op.offset(), r.data()), "read at " + op.offset());
        } else if (op.type() == T_GET_ID) {
            assertEquals("jblk-test-serial", new String(r.data(), java.nio.charset.StandardCharsets.US_ASCII)
                    .replace("\0", ""));
        }
    }

    private static MemorySegment usedRings(Fixture f) {
        List<byte[]> rings = new ArrayList<>();
        for (GuestQueue q : f.guest.queues) {
            rings.add(f.ram.at(q.used, 6 + 8L * q.size).toArray(ValueLayout.JAVA_BYTE));
        }
        byte[] all = new byte[rings.stream().mapToInt(b -> b.length).sum()];
        int at = 0;
        for (byte[] r : rings) {
            System.arraycopy(r, 0, all, at, r.length);
            at += r.length;
        }
        return MemorySegment.ofArray(all);
    }

    private static MemorySegment copy(MemorySegment s) {
        return MemorySegment.ofArray(s.toArray(ValueLayout.JAVA_BYTE));
    }
}
