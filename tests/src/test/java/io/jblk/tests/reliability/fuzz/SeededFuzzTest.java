package io.jblk.tests.reliability.fuzz;

import io.jblk.api.testing.SeededRandom;
import io.jblk.tests.reliability.hostile.Qcow2Image;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A short, seeded mutation run of the same targets in every normal build (Jazzer only replays its corpus there):
 * boundary values and random bytes poked into valid images, random header clusters, random L2 entries.
 */
class SeededFuzzTest {
    private static final long[] BOUNDARIES = {0, 1, 0x1ff, 0x200, 0x7fffffffL, 0x80000000L, 0xffffffffL,
            Long.MAX_VALUE, Long.MIN_VALUE, -1, 1L << 40, 1L << 55, 1L << 62, 1L << 63};

    @Test
    void mutatedImagesOnlyEverFailTyped(@TempDir Path dir) throws Exception {
        SplittableRandom random = SeededRandom.forTest("seeded image fuzz");
        int runs = Integer.getInteger("jblk.fuzz.runs", 1500);
        for (int run = 0; run < runs; run++) {
            int base = random.nextInt(FuzzTargets.BASES.size());
            Qcow2Image image = FuzzTargets.BASES.get(base);
            int edits = 1 + random.nextInt(4);
            int[] offsets = new int[edits * 8];
            byte[] values = new byte[edits * 8];
            int n = 0;
            for (int e = 0; e < edits; e++) {
                // aim at structures: header, reftable, refblock, L1, L2 (first 5 clusters), else anywhere
                int cluster = random.nextInt(6);
                int at = cluster < 5 ? cluster * image.clusterSize() + (random.nextInt(Math.min(image.clusterSize(), 256)) & ~7)
                        : random.nextInt(image.bytes().length);
                long value = random.nextBoolean() ? BOUNDARIES[random.nextInt(BOUNDARIES.length)] : random.nextLong();
                int width = random.nextBoolean() ? 8 : 4;
                for (int i = 0; i < width; i++) {
                    offsets[n] = at + i;
                    values[n++] = (byte) (value >>> (8 * (width - 1 - i)));
                }
            }
            try {
                FuzzTargets.openMutatedImage(base, java.util.Arrays.copyOf(offsets, n),
                        java.util.Arrays.copyOf(values, n), dir);
            } catch (Throwable t) {
                throw new AssertionError("run " + run + " (base " + base + ")", t);
            }
        }
        System.out.println("[fuzz] " + runs + " mutated images, all opened or refused with a typed error");
        assertTrue(runs > 0);
    }

    @Test
    void randomHeadersAndL2EntriesBehave() {
        SplittableRandom random = SeededRandom.forTest("seeded header/L2 fuzz");
        Qcow2Image base = FuzzTargets.BASES.getFirst();
        for (int run = 0; run < 20_000; run++) {
            byte[] header = java.util.Arrays.copyOf(base.bytes(), 512);
            int at = random.nextInt(120) & ~3;
            long value = BOUNDARIES[random.nextInt(BOUNDARIES.length)] ^ (random.nextInt(4) == 0 ? random.nextLong() : 0);
            for (int i = 0; i < 4; i++) {
                header[at + i] = (byte) (value >>> (8 * (3 - i)));
            }
            FuzzTargets.parseHeader(header, random.nextBoolean() ? base.bytes().length : random.nextLong(1L << 41));
            FuzzTargets.classify(random.nextLong(), random.nextLong() & (random.nextBoolean() ? 0xffffffffL : -1L),
                    random.nextInt(), random.nextBoolean());
        }
    }
}
