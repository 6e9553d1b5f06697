package io.jblk.bridge;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
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
            m.writeU64(0x1ff8, 0x0102030405060708L);
            assertEquals(0x08, low.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0xff8), "little-endian");
            assertEquals(0x0102030405060708L, m.readU64(0x1ff8));
            m.writeU32(0x10_1ffc, 0xCAFEBABE);
            assertEquals(0xCAFEBABE, m.readU32(0x10_1ffc));
            assertEquals(8192, m.slice(0x10_0000, 8192).byteSize());

            GuestMemoryException e = assertThrows(GuestMemoryException.class, () -> m.readU64(0x1ffc));
            assertEquals(0x1ffc, e.address(), "straddles the end of a region");
            assertTrue(e.getMessage().contains("0x1ffc"), e.getMessage());
            assertThrows(GuestMemoryException.class, () -> m.slice(0x2000, 1), "gap between regions");
            assertThrows(GuestMemoryException.class, () -> m.slice(0x0fff, 2), "before the first region");
            assertThrows(GuestMemoryException.class, () -> m.slice(0x10_1000, 0x2000), "runs past the end");
            assertThrows(GuestMemoryException.class, () -> m.slice(-8, 8), "negative (wrapped) address");
            assertThrows(GuestMemoryException.class, () -> m.slice(0x1000, Long.MAX_VALUE));
            assertThrows(GuestMemoryException.class, () -> m.slice(0x1000, -1));
        }
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
