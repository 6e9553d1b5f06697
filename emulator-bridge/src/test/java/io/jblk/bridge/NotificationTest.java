package io.jblk.bridge;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.VirtioBlkRequest.*;
import static org.junit.jupiter.api.Assertions.*;

/** Interrupt and kick suppression: EVENT_IDX in both directions, NO_INTERRUPT without it. */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING"})
class NotificationTest {
    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;
    Fixture f;

    @AfterEach
    void close() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    private GuestQueue startPolling(long features) throws Exception {
        f = new Fixture(wiring, dir, 1 << 20, null, false, 1, 16, null);
        f.guest.handleInterrupts = false;
        assertTrue(f.guest.initialize(features, 1, 16));
        return f.guest.queues.getFirst();
    }

    /** Submits one read and returns once the device has completed it (and decided about the interrupt). */
    private void oneRequest(GuestQueue q) {
        int before = q.usedIdxInRing();
        f.guest.read(0, 0, 512, 1, false);
        while (f.device().requestsInFlight() != 0 || q.usedIdxInRing() == before) {
            Thread.onSpinWait();
        }
        q.takeUsed();
    }

    /** Interrupts the device decided on so far (once per signalled batch). */
    private long interrupts() {
        return f.device().usedBufferInterrupts();
    }

    @Test
    void eventIdxInterruptsOnlyWhenTheUsedIndexPassesUsedEvent() throws Exception {
        GuestQueue q = startPolling(ALL_FEATURES);
        q.setUsedEvent(2); // "interrupt me once used idx moves past 2", i.e. at the third completion
        oneRequest(q);
        oneRequest(q);
        assertEquals(0, interrupts(), "no interrupt before used_event is passed");
        assertEquals(0, f.guest.reg(VirtioMmioTransport.INTERRUPT_STATUS));
        oneRequest(q);
        assertEquals(1, interrupts(), "one interrupt when the used index passes used_event");
        assertEquals(VirtioMmioTransport.INT_USED_BUFFER, f.guest.reg(VirtioMmioTransport.INTERRUPT_STATUS));
        oneRequest(q);
        assertEquals(1, interrupts(), "used_event not re-armed: no interrupt");
        q.setUsedEvent(q.lastUsed());
        oneRequest(q);
        assertEquals(2, interrupts(), "re-armed at the current index: interrupt for the next completion");
    }

    @Test
    void eventIdxDevicePublishesAvailEventSoTheDriverKicksOnlyWhenNeeded() throws Exception {
        GuestQueue q = startPolling(ALL_FEATURES);
        for (int i = 1; i <= 3; i++) {
            oneRequest(q);
            assertEquals(i, q.availEventInRing(), "avail_event = everything consumed so far");
        }
        assertEquals(3, f.guest.kicks.get(), "an idle device asks for every kick");
        // Publish without kicking: the device asked to be kicked once avail passes 3, so the driver must kick.
        q.publish(q.reserve(1)[0]);
        assertTrue(q.kickPrepare());
        // A second publish before the device ran: avail_event is still 3, which the first kick already covered.
        q.publish(q.reserve(1)[0]);
        assertFalse(q.kickPrepare(), "kick suppressed: the device has not consumed the earlier buffer yet");
    }

    @Test
    void noInterruptFlagSuppressesInterruptsWithoutEventIdx() throws Exception {
        GuestQueue q = startPolling(ALL_FEATURES & ~VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX));
        q.setNoInterrupt(true);
        oneRequest(q);
        oneRequest(q);
        assertEquals(0, interrupts());
        assertEquals(0, f.guest.reg(VirtioMmioTransport.INTERRUPT_STATUS));
        q.setNoInterrupt(false);
        oneRequest(q);
        assertEquals(1, interrupts());
        assertEquals(VirtioMmioTransport.INT_USED_BUFFER, f.guest.reg(VirtioMmioTransport.INTERRUPT_STATUS));
        f.guest.awaitLine(true);
        f.guest.reg(VirtioMmioTransport.INTERRUPT_ACK, VirtioMmioTransport.INT_USED_BUFFER);
        assertEquals(0, f.guest.reg(VirtioMmioTransport.INTERRUPT_STATUS));
        assertFalse(f.guest.lineAsserted(), "the acknowledgement lowers the line before the register write returns");
    }

    @Test
    void completionsOfOneNotifyAreCoalescedIntoOneInterrupt() throws Exception {
        GuestQueue q = startPolling(ALL_FEATURES & ~VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX));
        int[] heads = new int[8];
        long status = f.ram.alloc(8, 1);
        long header = f.ram.alloc(16, 16);
        f.ram.at(header, 16).set(LittleEndian.U32, 0, 99); // refused synchronously, inside the notify
        for (int i = 0; i < heads.length; i++) {
            int[] ids = q.reserve(2);
            new Descriptor(header, 16, Descriptor.F_NEXT, ids[1]).write(q.descTable(), ids[0]);
            new Descriptor(status + i, 1, Descriptor.F_WRITE, 0).write(q.descTable(), ids[1]);
            heads[i] = ids[0];
            q.publish(ids[0]); // published without kicking
        }
        f.guest.reg(VirtioMmioTransport.QUEUE_NOTIFY, 0);
        while (f.device().requestsInFlight() != 0 || q.usedIdxInRing() != heads.length) {
            Thread.onSpinWait();
        }
        assertEquals(heads.length, q.takeUsed().size());
        assertEquals(1, interrupts(), "one interrupt for the batch");
        for (int i = 0; i < heads.length; i++) {
            assertEquals(S_UNSUPP, f.ram.at(status + i, 1).get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
        }
    }
}
