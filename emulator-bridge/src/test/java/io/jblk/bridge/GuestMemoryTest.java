package io.jblk.bridge;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;

import static org.junit.jupiter.api.Assertions.*;

class GuestMemoryTest {
    @Test
    void translatesAddressesInEveryRegionAndRefusesEverythingElse() throws Exception {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment low = arena.allocate(4096);
            MemorySegment high = arena.allocate(8192);
            GuestMemory m = GuestMemory.of(List.of(new GuestMemory.Region(0x10_0000, high),
                    new GuestMemory.Region(0x1000, low)));
            GuestRange r = GuestRange.of(m, 0x1ff8, 8);
            r.setU32(0, 0x05060708);
            r.setU32(4, 0x01020304);
            assertEquals(0x08, low.get(ValueLayout.JAVA_BYTE, 0xff8), "little-endian");
            assertEquals(0x0102030405060708L, m.direct(0x1ff8, 8).get(LittleEndian.U64, 0));
            GuestRange h = GuestRange.of(m, 0x10_1ffc, 4);
            h.setU16(0, 0xBABE);
            h.setU16(2, 0xCAFE);
            assertEquals(0xCAFEBABE, h.u32(0));
            assertEquals(8192, m.direct(0x10_0000, 8192).byteSize());
            MemorySegment copy = MemorySegment.ofArray(new byte[8]);
            m.read(0x1ff8, copy);
            assertEquals(0x0102030405060708L, copy.get(LittleEndian.U64, 0));

            GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x1ffc, 8));
            assertEquals(0x1ffc, e.address(), "straddles the end of a region");
            assertTrue(e.getMessage().contains("0x1ffc"), e.getMessage());
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x2000, 1), "gap between regions");
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x0fff, 2), "before the first region");
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x10_1000, 0x2000), "runs past the end");
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, -8, 8), "negative (wrapped) address");
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x1000, Long.MAX_VALUE));
            assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x1000, -1));
            assertDoesNotThrow(() -> GuestRange.check(m, 0x2000, 0), "an empty range needs only a sane address");
        }
    }

    @Test
    void aRangeOfCopyOnlyMemoryReadsAndWritesFieldsByCopying() throws Exception {
        MemorySegment ram = MemorySegment.ofArray(new byte[4096]);
        CopyingGuestMemory m = new CopyingGuestMemory(0x8000, ram);
        GuestRange r = GuestRange.of(m, 0x8010, 16);
        r.setU16(2, 0x1234);
        r.setU32(4, 0xdeadbeef);
        assertEquals(0x1234, Short.toUnsignedInt(ram.get(LittleEndian.U16, 0x12)));
        assertEquals(0xdeadbeef, r.u32(4));
        assertEquals(0x1234, r.u16(2));
        assertEquals(2, m.writes.get(), "one copy per field written");
        assertEquals(2, m.reads.get(), "one copy per field read");
        assertThrows(IndexOutOfBoundsException.class, () -> r.u32(14), "past the end of the checked range");
        assertThrows(GuestMemoryException.class, () -> GuestRange.of(m, 0x8ff0, 32));
    }

    @Test
    void overlappingRegionsAreRejected() {
        MemorySegment a = MemorySegment.ofArray(new byte[4096]);
        assertThrows(IllegalArgumentException.class, () -> GuestMemory.of(List.of(new GuestMemory.Region(0, a),
                new GuestMemory.Region(2048, a))));
    }

    @Test
    void needEventFollowsTheSpecWithWraparound() {
        assertTrue(SplitVirtqueue.needEvent(0, 1, 0));
        assertFalse(SplitVirtqueue.needEvent(1, 1, 0), "event not yet passed");
        assertTrue(SplitVirtqueue.needEvent(5, 8, 3), "event inside (old, new]");
        assertFalse(SplitVirtqueue.needEvent(2, 8, 3), "event already passed before old");
        assertTrue(SplitVirtqueue.needEvent(0xFFFF, 2, 0xFFFE), "across the 16-bit wrap");
    }
}
