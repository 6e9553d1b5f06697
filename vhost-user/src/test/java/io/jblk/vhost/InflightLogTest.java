package io.jblk.vhost;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The split-ring in-flight log (spec "Inflight I/O tracking"): what a restarted back-end learns from it. */
class InflightLogTest {
    static final int SIZE = 16;

    private static MemorySegment region(Arena arena) {
        return arena.allocate(InflightLog.regionSize(SIZE));
    }

    @Test
    void regionsAreHeaderPlusStatesRoundedTo64() {
        assertEquals(2112, InflightLog.regionSize(128)); // 16 + 2048 = 2064 -> 2112
        assertEquals(320, InflightLog.regionSize(18)); // 16 + 288 = 304 -> 320
    }

    @Test
    void aFreshRegionIsInitialisedAndHoldsNothing() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            assertArrayEquals(new int[0], new InflightLog(r, SIZE).recover(7, SIZE));
            assertEquals(1, r.get(ValueLayout.JAVA_SHORT_UNALIGNED, 8), "version");
            assertEquals(SIZE, r.get(ValueLayout.JAVA_SHORT_UNALIGNED, 10), "desc_num");
            assertEquals(7, r.get(ValueLayout.JAVA_SHORT_UNALIGNED, 14), "used_idx");
        }
    }

    @Test
    void requestsTakenAndNotCompletedComeBackOldestFirst() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightLog log = new InflightLog(r, SIZE);
            log.recover(0, SIZE);
            log.fetched(7);
            log.fetched(3);
            log.fetched(5);
            log.completed(3);
            log.published(1);
            // the back-end dies here; a new one maps the same memory
            int[] again = new InflightLog(r, SIZE).recover(1, SIZE);
            assertArrayEquals(new int[] {7, 5}, again);
        }
    }

    @Test
    void aBatchPublishedButNotClearedIsTreatedAsComplete() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightLog log = new InflightLog(r, SIZE);
            log.recover(0, SIZE);
            log.fetched(1);
            log.fetched(2);
            log.fetched(9);
            log.completed(2);
            log.completed(9);
            // the used index reached 2 in guest memory, then the back-end died before published()
            assertArrayEquals(new int[] {1}, new InflightLog(r, SIZE).recover(2, SIZE));
            assertEquals(2, r.get(ValueLayout.JAVA_SHORT_UNALIGNED, 14), "used_idx caught up");
        }
    }

    @Test
    void countersContinueAfterRecoverySoOrderHolds() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightLog first = new InflightLog(r, SIZE);
            first.recover(0, SIZE);
            first.fetched(4);
            InflightLog second = new InflightLog(r, SIZE);
            assertArrayEquals(new int[] {4}, second.recover(0, SIZE));
            second.fetched(2); // newer than 4
            assertArrayEquals(new int[] {4, 2}, new InflightLog(r, SIZE).recover(0, SIZE));
        }
    }

    @Test
    void aLogForAnotherRingSizeIsStartedAfresh() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            InflightLog log = new InflightLog(r, SIZE);
            log.recover(0, 8);
            log.fetched(3);
            assertArrayEquals(new int[0], new InflightLog(r, SIZE).recover(0, SIZE));
            assertThrows(IllegalArgumentException.class, () -> new InflightLog(r, SIZE).recover(0, SIZE * 2));
            assertThrows(IllegalArgumentException.class, () -> new InflightLog(r.asSlice(0, 64), SIZE));
        }
    }

    @Test
    void garbageLeftByAFrontEndNeverYieldsHeadsOutsideTheRing() {
        SplittableRandom random = io.jblk.api.testing.SeededRandom.forTest("inflight garbage");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment r = region(arena);
            for (int round = 0; round < 500; round++) {
                byte[] noise = new byte[(int) r.byteSize()];
                random.nextBytes(noise);
                MemorySegment.copy(noise, 0, r, ValueLayout.JAVA_BYTE, 0, noise.length);
                r.set(ValueLayout.JAVA_SHORT_UNALIGNED, 8, (short) 1);
                r.set(ValueLayout.JAVA_SHORT_UNALIGNED, 10, (short) SIZE);
                int[] heads = new InflightLog(r, SIZE).recover(random.nextInt(0x10000), SIZE);
                assertTrue(Arrays.stream(heads).allMatch(h -> h >= 0 && h < SIZE), Arrays.toString(heads));
                assertEquals(heads.length, Arrays.stream(heads).distinct().count());
            }
        }
    }
}
