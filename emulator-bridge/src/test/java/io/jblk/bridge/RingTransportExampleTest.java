package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.bridge.example.RingTransportExample;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jblk.bridge.VirtioBlkFeatures.bit;
import static io.jblk.bridge.VirtioBlkRequest.S_OK;
import static org.junit.jupiter.api.Assertions.*;

/**
 * {@link RingTransportExample}, quoted in docs/emulator-bridge.md, is a transport of its own built from the exported
 * layers only (it lives in another package): it serves a ring that continues at a vring base three requests before
 * the 16-bit index wrap, over segment and over copy-only guest memory.
 */
class RingTransportExampleTest {
    static final int BASE = 65533;
    static final long FEATURES = bit(VirtioBlkFeatures.VERSION_1) | bit(VirtioBlkFeatures.RING_EVENT_IDX)
            | bit(VirtioBlkFeatures.RING_INDIRECT_DESC) | bit(VirtioBlkFeatures.FLUSH);

    @TempDir
    Path dir;

    private record Request(int head, long status, long data, int length) {
    }

    @ParameterizedTest
    @EnumSource(Wiring.MemoryKind.class)
    void servesARingResumedAtItsBase(Wiring.MemoryKind kind) throws Exception {
        Path image = dir.resolve("disk.raw");
        BlockDrivers.create(image, "raw", CreateOptions.builder(1 << 20).build());
        AtomicInteger signals = new AtomicInteger();
        try (BlockDevice disk = BlockDrivers.open(image, "raw", OpenOptions.defaults());
             GuestRam ram = new GuestRam(4 << 20, kind)) {
            GuestQueue q = new GuestQueue(ram, 0, 8, true);
            q.continueAt(BASE); // the ring a previous back-end served up to BASE
            q.setUsedEvent(BASE);
            RingTransportExample transport = new RingTransportExample(disk, ram.memory, FEATURES, q.size, q.desc,
                    q.avail, q.used, BASE, signals::incrementAndGet);

            byte[] data = new byte[8192];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i * 7 + 3);
            }
            Request write = submit(ram, q, VirtioBlkRequest.T_OUT, 16, data, 0, 2, false);
            transport.kick();
            Map<Integer, GuestQueue.Used> first = takeUsed(q, 1);
            assertEquals(1, first.get(write.head()).length(), "OUT: only the status byte is written");
            assertEquals(S_OK, status(ram, write));
            // the guest asked to hear about the used index passing BASE; the signal follows the index
            Until.until("the first signal", () -> signals.get() == 1);

            q.setUsedEvent(q.lastUsed());
            Request read = submit(ram, q, VirtioBlkRequest.T_IN, 16, null, 8192, 3, true);
            Request id = submit(ram, q, VirtioBlkRequest.T_GET_ID, 0, null, VirtioBlkDevice.SERIAL_BYTES, 1, false);
            Request flush = submit(ram, q, VirtioBlkRequest.T_FLUSH, 0, null, 0, 1, false);
            q.publish(200); // a head beyond the queue: returned with length 0, nothing written
            transport.kick();
            Map<Integer, GuestQueue.Used> second = takeUsed(q, 4);
            assertEquals((BASE + 5) & 0xFFFF, q.lastUsed(), "the used index wrapped");
            assertEquals(8192 + 1, second.get(read.head()).length());
            assertArrayEquals(data, ram.at(read.data(), 8192).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(VirtioBlkDevice.SERIAL_BYTES + 1, second.get(id.head()).length());
            assertEquals("ring-example", new String(ram.at(id.data(), VirtioBlkDevice.SERIAL_BYTES)
                    .toArray(ValueLayout.JAVA_BYTE), StandardCharsets.US_ASCII).replace("\0", ""));
            assertEquals(1, second.get(flush.head()).length());
            assertEquals(0, second.get(200).length());
            for (Request r : List.of(read, id, flush)) {
                assertEquals(S_OK, status(ram, r));
            }
            Until.until("nothing in flight", () -> transport.inFlight() == 0);
            Until.until("the second signal", () -> signals.get() >= 2);
            assertEquals(2, signals.get(), "one signal for the batch that passed the guest's used_event");
            assertEquals((BASE + 5) & 0xFFFF, transport.base(), "the vring base after five requests");
            assertEquals((BASE + 5) & 0xFFFF, q.availEventInRing(), "EVENT_IDX: kick me for the next one");
        }
    }

    /** Header, data in {@code splits} descriptors (readable {@code out} or {@code inLength} writable bytes), status. */
    private static Request submit(GuestRam ram, GuestQueue q, int type, long sector, byte[] out, int inLength,
                                  int splits, boolean indirect) {
        long header = ram.alloc(16, 16);
        ram.at(header, 16).set(LittleEndian.U32, 0, type);
        ram.at(header, 16).set(LittleEndian.U64, 8, sector);
        int length = out != null ? out.length : inLength;
        long data = length > 0 ? ram.alloc(length, 4096) : 0;
        if (out != null) {
            MemorySegment.copy(out, 0, ram.at(data, length), ValueLayout.JAVA_BYTE, 0, length);
        }
        long status = ram.alloc(1, 1);
        ram.at(status, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0xFF);
        List<GuestQueue.Segment> segments = new ArrayList<>();
        segments.add(new GuestQueue.Segment(header, 16, false));
        for (int i = 0, at = 0; length > 0 && i < splits; i++) {
            int piece = i == splits - 1 ? length - at : length / splits;
            segments.add(new GuestQueue.Segment(data + at, piece, out == null));
            at += piece;
        }
        segments.add(new GuestQueue.Segment(status, 1, true));
        return new Request(q.add(segments, indirect), status, data, length);
    }

    private static int status(GuestRam ram, Request r) {
        return Byte.toUnsignedInt(ram.at(r.status(), 1).get(ValueLayout.JAVA_BYTE, 0));
    }

    /** Waits for {@code n} used elements past the guest's last one and takes them, by head. */
    private static Map<Integer, GuestQueue.Used> takeUsed(GuestQueue q, int n) {
        int expected = (q.lastUsed() + n) & 0xFFFF;
        Until.until("used index " + expected, () -> q.usedIdxInRing() == expected);
        Map<Integer, GuestQueue.Used> byHead = new HashMap<>();
        for (GuestQueue.Used u : q.takeUsed()) {
            byHead.put(u.head(), u);
        }
        assertEquals(n, byHead.size());
        return byHead;
    }
}
