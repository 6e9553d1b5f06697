package io.jblk.qcow2;

import io.jblk.api.CreateOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Many writes in flight at once into the same few unallocated clusters of an overlay: the first allocates and copies
 * its head and tail from the backing file (or zeros), the others wait for its claim and then write in place or copy
 * their own subclusters. The copy-on-write reads the backing chain without the image lock, trusting the claim to keep
 * the planned entry; a write that copied stale or foreign bytes, or lost another's, shows up as a sector that differs
 * from the shadow copy, and a claim or refcount mishandled shows up in qemu-img check.
 */
class ConcurrentAllocationOverBackingTest {
    private static final int SECTOR = 512;
    private static final int CLUSTER = 64 << 10;
    private static final int SIZE = 2 << 20;

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"on", "off"})
    void concurrentWritesIntoNewClustersMatchTheShadow(String extendedL2) throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        SplittableRandom random = SeededRandom.forTest("concurrent allocation over backing, extended_l2=" + extendedL2);
        byte[] base = new byte[SIZE - 3 * CLUSTER / 2]; // shorter than the overlay: its last clusters read as zeros
        random.nextBytes(base);
        Files.write(dir.resolve("base.raw"), base);
        Path image = dir.resolve("overlay.qcow2");
        new Qcow2Driver().create(image, CreateOptions.builder(SIZE).backingFile("base.raw", "raw")
                .option("extended_l2", extendedL2).option("cluster_size", Integer.toString(CLUSTER)).build());
        byte[] shadow = Arrays.copyOf(base, SIZE);
        int clusters = SIZE / CLUSTER;
        try (Qcow2Device device = Qcow2Images.open(image)) {
            long written = 0;
            for (int round = 0; round < clusters / 2; round++) {
                // Two clusters no write has touched yet, cut into disjoint pieces written all at once in random order.
                List<long[]> pieces = new ArrayList<>();
                for (int k = 0; k < 2; k++) {
                    long start = (long) (2 * round + k) * CLUSTER;
                    // Some subclusters zeroed first (zero bits, no allocation), so that the first write's copy-on-write
                    // crosses zero subclusters next to backing ones.
                    int sc = "on".equals(extendedL2) ? CLUSTER / 32 : CLUSTER;
                    for (long z = start; z < start + CLUSTER; z += sc) {
                        if (random.nextInt(3) == 0) {
                            device.writeZeroes(z, sc, false).get();
                            Arrays.fill(shadow, (int) z, (int) z + sc, (byte) 0);
                        }
                    }
                    long pos = start + SECTOR * random.nextInt(8);
                    while (pos < start + CLUSTER) {
                        int length = SECTOR * (1 + random.nextInt(random.nextBoolean() ? 4 : 24));
                        length = (int) Math.min(length, start + CLUSTER - pos);
                        if (random.nextInt(3) != 0) {
                            pieces.add(new long[] {pos, length});
                        }
                        pos += length + SECTOR * random.nextInt(3);
                    }
                }
                Collections.shuffle(pieces, new java.util.Random(random.nextLong()));
                List<CompletableFuture<Void>> inFlight = new ArrayList<>();
                for (long[] piece : pieces) {
                    byte[] data = new byte[(int) piece[1]];
                    random.nextBytes(data);
                    System.arraycopy(data, 0, shadow, (int) piece[0], data.length);
                    inFlight.add(device.write(piece[0], MemorySegment.ofArray(data)));
                    written++;
                }
                CompletableFuture.allOf(inFlight.toArray(CompletableFuture[]::new)).get();
            }
            byte[] actual = Qcow2Images.read(device, 0, SIZE);
            for (int at = 0; at < SIZE; at += SECTOR) {
                if (!Arrays.equals(actual, at, at + SECTOR, shadow, at, at + SECTOR)) {
                    fail("sector at 0x" + Integer.toHexString(at) + " differs from the shadow copy after " + written
                            + " concurrent writes");
                }
            }
            assertEquals(SIZE, actual.length);
        }
        Qcow2Images.assertQemuCheckClean(image);
        Qcow2Images.assertSameAsRaw(image, shadow, dir);
    }
}
