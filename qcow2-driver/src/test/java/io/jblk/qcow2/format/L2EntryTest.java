package io.jblk.qcow2.format;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.EnumSet;
import java.util.Set;

import static io.jblk.qcow2.format.L2Entry.COPIED;
import static io.jblk.qcow2.format.L2Entry.allocBit;
import static io.jblk.qcow2.format.L2Entry.zeroBit;
import static io.jblk.qcow2.format.SubclusterType.COMPRESSED;
import static io.jblk.qcow2.format.SubclusterType.INVALID;
import static io.jblk.qcow2.format.SubclusterType.NORMAL;
import static io.jblk.qcow2.format.SubclusterType.UNALLOCATED_ALLOC;
import static io.jblk.qcow2.format.SubclusterType.UNALLOCATED_PLAIN;
import static io.jblk.qcow2.format.SubclusterType.ZERO_ALLOC;
import static io.jblk.qcow2.format.SubclusterType.ZERO_PLAIN;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

/** Subcluster classification exactly as QEMU 7.2's {@code qcow2_get_subcluster_type} (notes §1.6-1.7). */
class L2EntryTest {
    private static final long HOST = 0x50000L;
    private static final long CMP = L2Entry.COMPRESSED;

    private static SubclusterType ext(long word, long bitmap, int index) {
        return new L2Entry(word, bitmap).type(index, true, false);
    }

    private static SubclusterType std(long word) {
        return new L2Entry(word, 0).type(0, false, false);
    }

    @Test
    void extendedAllocatedClusterTypesPerSubcluster() {
        long word = HOST | COPIED;
        long bitmap = allocBit(1) | allocBit(31) | zeroBit(4) | zeroBit(5);   // 0x0000003080000002
        assertEquals(0x0000003080000002L, bitmap);
        assertEquals(NORMAL, ext(word, bitmap, 1));
        assertEquals(NORMAL, ext(word, bitmap, 31));
        assertEquals(ZERO_ALLOC, ext(word, bitmap, 4));
        assertEquals(ZERO_ALLOC, ext(word, bitmap, 5));
        assertEquals(UNALLOCATED_ALLOC, ext(word, bitmap, 0));
        assertEquals(UNALLOCATED_ALLOC, ext(word, bitmap, 30));
        // COPIED only says "refcount 1": a shared cluster classifies the same way.
        assertEquals(NORMAL, ext(HOST, bitmap, 1));
        assertEquals(UNALLOCATED_ALLOC, ext(HOST, 0, 7));
    }

    @Test
    void extendedUnallocatedClusterTypesPerSubcluster() {
        long bitmap = zeroBit(0) | zeroBit(31);
        assertEquals(ZERO_PLAIN, ext(0, bitmap, 0));
        assertEquals(ZERO_PLAIN, ext(0, bitmap, 31));
        assertEquals(UNALLOCATED_PLAIN, ext(0, bitmap, 1));
        assertEquals(UNALLOCATED_PLAIN, ext(0, 0, 0));
        assertEquals(ZERO_PLAIN, ext(0, L2Entry.ALL_ZERO, 17));
        // COPIED without an offset and without a data file is still "no host cluster".
        assertEquals(ZERO_PLAIN, ext(COPIED, zeroBit(3), 3));
    }

    @ParameterizedTest(name = "conflict in subcluster {0}")
    @ValueSource(ints = {0, 1, 15, 31})
    void allocatedClusterWithAnySubclusterBothAllocatedAndZeroIsInvalidEverywhere(int bad) {
        long bitmap = allocBit(bad) | zeroBit(bad);
        for (int i = 0; i < 32; i++) {
            assertEquals(INVALID, ext(HOST | COPIED, bitmap, i), "subcluster " + i);
            assertEquals(INVALID, ext(HOST | COPIED, bitmap | allocBit((bad + 1) % 32), i), "subcluster " + i);
        }
        assertNotNull(new L2Entry(HOST | COPIED, bitmap).extendedInconsistency(false));
        // Both bits set in different subclusters is fine.
        int other = (bad + 1) % 32;
        assertNull(new L2Entry(HOST, allocBit(bad) | zeroBit(other)).extendedInconsistency(false));
    }

    @ParameterizedTest(name = "allocation bit {0}")
    @ValueSource(ints = {0, 9, 31})
    void unallocatedClusterWithAnyAllocationBitIsInvalidEverywhere(int bit) {
        for (long extra : new long[] {0, zeroBit((bit + 3) % 32), L2Entry.ALL_ZERO & ~zeroBit(bit)}) {
            long bitmap = allocBit(bit) | extra;
            for (int i = 0; i < 32; i++) {
                assertEquals(INVALID, ext(0, bitmap, i), "subcluster " + i + " bitmap " + Long.toHexString(bitmap));
            }
            assertNotNull(new L2Entry(0, bitmap).extendedInconsistency(false));
        }
        // COPIED alone does not make an entry allocated when there is no external data file.
        assertEquals(INVALID, ext(COPIED, allocBit(bit), bit));
    }

    @Test
    void externalDataFileOffsetZeroWithCopiedIsAllocated() {
        L2Entry e = new L2Entry(COPIED, allocBit(0) | zeroBit(1));
        assertEquals(NORMAL, e.type(0, true, true));
        assertEquals(ZERO_ALLOC, e.type(1, true, true));
        assertEquals(UNALLOCATED_ALLOC, e.type(2, true, true));
        assertEquals(INVALID, new L2Entry(COPIED, allocBit(0) | zeroBit(0)).type(5, true, true));
        // Without COPIED, offset 0 is unallocated even with a data file.
        assertEquals(INVALID, new L2Entry(0, allocBit(0)).type(0, true, true));
        assertEquals(ZERO_PLAIN, new L2Entry(0, zeroBit(0)).type(0, true, true));
        // Standard entries with a data file: offset 0 + COPIED is a normal cluster.
        assertEquals(NORMAL, new L2Entry(COPIED, 0).type(0, false, true));
        // ...but a zero entry is classified by its offset alone, as QEMU does: offset 0 is ZERO_PLAIN (found by
        // SubclusterSemanticsTest's random sequences against qemu-io), a real offset ZERO_ALLOC.
        assertEquals(ZERO_PLAIN, new L2Entry(COPIED | 1, 0).type(0, false, true));
        assertEquals(ZERO_ALLOC, new L2Entry(COPIED | 0x10000L | 1, 0).type(0, false, true));
    }

    @Test
    void compressedClusterIgnoresItsBitmapOnRead() {
        long word = CMP | 0x50014L;
        for (long bitmap : new long[] {0, L2Entry.ALL_ALLOCATED, L2Entry.ALL_ZERO, -1L}) {
            for (int i : new int[] {0, 31}) {
                assertEquals(COMPRESSED, ext(word, bitmap, i));
            }
            assertNull(new L2Entry(word, bitmap).extendedInconsistency(false));
        }
        assertEquals(COMPRESSED, std(word));
        assertEquals(COMPRESSED, std(word | 1));   // bit 0 is part of the byte offset there
    }

    @Test
    void extendedIgnoresTheStandardZeroFlag() {
        // Descriptor bit 0 means nothing with extended L2 (iotest 271 pins this: not corrupt, not zero).
        assertEquals(NORMAL, ext(HOST | COPIED | 1, allocBit(0), 0));
        assertEquals(UNALLOCATED_ALLOC, ext(HOST | COPIED | 1, 0, 0));
        assertEquals(UNALLOCATED_PLAIN, ext(1, 0, 0));
    }

    @Test
    void standardEntries() {
        assertEquals(UNALLOCATED_PLAIN, std(0));
        assertEquals(ZERO_PLAIN, std(1));
        assertEquals(ZERO_ALLOC, std(HOST | COPIED | 1));
        assertEquals(ZERO_ALLOC, std(HOST | 1));
        assertEquals(NORMAL, std(HOST | COPIED));
        assertEquals(NORMAL, std(HOST));
        Set<SubclusterType> seen = EnumSet.noneOf(SubclusterType.class);
        for (long w : new long[] {0, 1, HOST, HOST | 1, HOST | COPIED, COPIED, CMP | 0x1234}) {
            seen.add(std(w));
        }
        // UNALLOCATED_ALLOC and INVALID cannot occur without extended L2.
        assertEquals(EnumSet.of(UNALLOCATED_PLAIN, ZERO_PLAIN, ZERO_ALLOC, NORMAL, COMPRESSED), seen);
    }

    @Test
    void everyTypeIsReachable() {
        Set<SubclusterType> seen = EnumSet.noneOf(SubclusterType.class);
        seen.add(ext(0, 0, 0));
        seen.add(ext(HOST, 0, 0));
        seen.add(ext(0, zeroBit(0), 0));
        seen.add(ext(HOST, zeroBit(0), 0));
        seen.add(ext(HOST, allocBit(0), 0));
        seen.add(ext(CMP | HOST, 0, 0));
        seen.add(ext(0, allocBit(0), 0));
        assertEquals(EnumSet.allOf(SubclusterType.class), seen);
    }

    @Test
    void readPredicates() {
        assertEquals(EnumSet.of(ZERO_PLAIN, ZERO_ALLOC), matching(SubclusterType::readsAsZero));
        assertEquals(EnumSet.of(UNALLOCATED_PLAIN, UNALLOCATED_ALLOC), matching(SubclusterType::readsFromBacking));
    }

    private static Set<SubclusterType> matching(java.util.function.Predicate<SubclusterType> p) {
        Set<SubclusterType> out = EnumSet.noneOf(SubclusterType.class);
        for (SubclusterType t : SubclusterType.values()) {
            if (p.test(t)) {
                out.add(t);
            }
        }
        return out;
    }

    @Test
    void runLengthsFollowTypeChanges() {
        L2Entry e = new L2Entry(HOST | COPIED, L2Entry.allocRange(0, 3) | L2Entry.zeroRange(4, 5));
        assertEquals(4, e.runLength(0, 32, true, false));
        assertEquals(2, e.runLength(2, 32, true, false));
        assertEquals(2, e.runLength(4, 32, true, false));
        assertEquals(26, e.runLength(6, 32, true, false));
        assertEquals(32, new L2Entry(0, 0).runLength(0, 32, true, false));
        assertEquals(1, new L2Entry(HOST, L2Entry.allocRange(0, 30)).runLength(31, 32, true, false));
    }

    @Test
    void bitmapUpdatesMatchQemu() {
        assertEquals(L2Entry.ALL_ALLOCATED, L2Entry.allocRange(0, 31));
        assertEquals(L2Entry.ALL_ZERO, L2Entry.zeroRange(0, 31));
        assertEquals(1L << 5, L2Entry.allocRange(5, 5));
        assertEquals(0x80000000L, L2Entry.allocRange(31, 31));
        // A 512-byte write into subcluster 1 of an all-zero cluster (notes §2.2).
        assertEquals(0xfffffffd00000002L, new L2Entry(HOST | COPIED, L2Entry.ALL_ZERO).allocating(1, 1).bitmap());
        // The notes §5 qemu-io sequence: a=1,6,31 z=4,5.
        assertEquals(0x0000003080000042L, new L2Entry(HOST | COPIED, 0).allocating(1, 1).zeroing(4, 5)
                .allocating(6, 6).allocating(31, 31).bitmap());
        L2Entry z = new L2Entry(HOST, L2Entry.ALL_ALLOCATED).zeroing(4, 5);
        assertEquals(0x00000030ffffffcfL, z.bitmap());
        assertEquals(0x00000030ffffff4fL, z.unallocating(7, 7).bitmap());
        assertEquals(0x00000000ffffff0fL, new L2Entry(HOST, z.bitmap()).unallocating(4, 7).bitmap());
    }
}
