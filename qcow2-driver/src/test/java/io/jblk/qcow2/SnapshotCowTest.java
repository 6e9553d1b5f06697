package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import io.jblk.api.testing.ShadowDisk;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static io.jblk.qcow2.Qcow2Images.qemuImgOk;
import static io.jblk.qcow2.Qcow2Images.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Writes through jblk into clusters an internal snapshot shares (refcount 2, COPIED clear) must copy them first:
 * {@code qemu-img check} stays clean, the active image reads like a shadow, and {@code qemu-img snapshot -a}
 * afterwards restores exactly the data the snapshot was taken of.
 */
class SnapshotCowTest {
    private static final int CS = 65536;
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
    }

    @ParameterizedTest(name = "extended_l2={0} backing={1}")
    @CsvSource({"on,false", "off,false", "on,true", "off,true"})
    void jblkWritesAfterQemuSnapshotKeepTheSnapshotIntact(String ext, boolean withBacking) throws Exception {
        Path img = dir.resolve("s.qcow2");
        List<String> create = new ArrayList<>(List.of("create", "-q", "-f", "qcow2", "-o", "extended_l2=" + ext));
        if (withBacking) {
            byte[] base = new byte[SIZE];
            for (int i = 0; i < base.length; i++) {
                base[i] = (byte) (0xa0 | (i >>> 16));
            }
            Files.write(dir.resolve("base.raw"), base);
            create.addAll(List.of("-F", "raw", "-b", "base.raw"));
        }
        create.addAll(List.of(img.toString(), Integer.toString(SIZE)));
        qemuImgOk(create.toArray(String[]::new));
        int sc = ext.equals("on") ? CS / 32 : CS;
        // Data QEMU wrote before the snapshot: whole clusters, single subclusters, zeroes, a compressed cluster.
        qemuIo(img, "write -q -P 0x11 0 " + (4 * CS), "write -q -P 0x12 " + (5L * CS + sc) + " " + sc,
                "write -q -z " + (6L * CS) + " " + CS, "write -q -z " + (7L * CS + 2 * sc) + " " + (2 * sc),
                "write -q -c -P 0x13 " + (8L * CS) + " " + CS, "write -q -P 0x14 " + (20L * CS) + " " + (8 * CS));

        byte[] atS1 = Qcow2Images.qemuContent(img, dir);
        qemuImgOk("snapshot", "-c", "s1", img.toString());
        ShadowDisk shadow = new ShadowDisk(atS1);
        try (Qcow2Device d = Qcow2Images.open(img)) {
            // Partial subclusters of shared clusters (COW must keep the rest of the cluster's live subclusters).
            write(d, shadow, 512, 1024, 0x21);
            write(d, shadow, 5L * CS + sc + 512, 512, 0x22);
            write(d, shadow, 7L * CS + 2 * sc + 100, 300, 0x23);
            // Into the shared compressed cluster: whole-cluster COW.
            write(d, shadow, 8L * CS + 4096, 512, 0x24);
            // Whole clusters.
            write(d, shadow, 2L * CS, CS, 0x25);
            // Zeroes: a subcluster, a whole shared cluster with and without MAY_UNMAP.
            zero(d, shadow, 3L * CS + sc, sc, false);
            zero(d, shadow, 20L * CS, CS, false);
            zero(d, shadow, 21L * CS, CS, true);
            // Discards: a whole shared cluster, and whole subclusters of one.
            discard(d, shadow, 22L * CS, CS);
            discard(d, shadow, 23L * CS + 4 * sc, 2L * sc, sc);
            // Writes again into clusters already copied once (now COPIED: in place).
            write(d, shadow, 600, 100, 0x26);
            assertSameAsShadow(Qcow2Images.readAll(d), shadow, "jblk's view before close");
        }
        checkClean(img);
        assertSameAsShadow(Qcow2Images.qemuContent(img, dir), shadow, "QEMU's view of jblk's writes");

        // A second snapshot, more random writes through jblk, then restore each snapshot in turn.
        byte[] atS2 = Qcow2Images.qemuContent(img, dir);
        qemuImgOk("snapshot", "-c", "s2", img.toString());
        SplittableRandom random = SeededRandom.forTest("SnapshotCowTest ext=" + ext + " backing=" + withBacking);
        try (Qcow2Device d = Qcow2Images.open(img)) {
            for (int i = 0; i < 40; i++) {
                randomOp(d, shadow, random, sc);
            }
            assertSameAsShadow(Qcow2Images.readAll(d), shadow, "jblk's view after random writes");
        }
        checkClean(img);
        assertSameAsShadow(Qcow2Images.qemuContent(img, dir), shadow, "QEMU's view after random writes");

        qemuImgOk("snapshot", "-a", "s2", img.toString());
        checkClean(img);
        assertEquals(-1, java.util.Arrays.mismatch(atS2, Qcow2Images.qemuContent(img, dir)), "s2 restored");
        qemuImgOk("snapshot", "-a", "s1", img.toString());
        checkClean(img);
        assertEquals(-1, java.util.Arrays.mismatch(atS1, Qcow2Images.qemuContent(img, dir)), "s1 restored");
        // jblk reads the restored image like QEMU does.
        Qcow2Images.assertReadsLikeQemu(img, dir);
    }

    private static void randomOp(Qcow2Device d, ShadowDisk shadow, SplittableRandom r, int sc) throws Exception {
        int kind = r.nextInt(10);
        long offset = 512L * r.nextInt(SIZE / 512);
        long length = Math.min(SIZE - offset, 512L * (1 + r.nextInt(3 * CS / 512)));
        if (kind < 6) {
            write(d, shadow, offset, (int) length, 0x30 + r.nextInt(0x40));
        } else if (kind < 8) {
            zero(d, shadow, offset, length, r.nextBoolean());
        } else {
            discard(d, shadow, offset, length, sc);
        }
    }

    private static void write(Qcow2Device d, ShadowDisk shadow, long offset, int length, int value)
            throws Exception {
        byte[] data = Qcow2Images.pattern(length, value);
        Qcow2Images.write(d, offset, data);
        shadow.write(offset, data);
    }

    private static void zero(Qcow2Device d, ShadowDisk shadow, long offset, long length, boolean unmap)
            throws Exception {
        d.writeZeroes(offset, length, unmap).get();
        shadow.zero(offset, length);
    }

    private static void discard(Qcow2Device d, ShadowDisk shadow, long offset, long length) throws Exception {
        discard(d, shadow, offset, length, CS);
    }

    /**
     * Discard on qcow2 v3 makes whole allocation units read as zeros (jblk discards subclusters); partial units at
     * the edges keep their data.
     */
    private static void discard(Qcow2Device d, ShadowDisk shadow, long offset, long length, int unit)
            throws Exception {
        d.discard(offset, length).get();
        long start = (offset + unit - 1) / unit * unit;
        long end = (offset + length) / unit * unit;
        if (end > start) {
            shadow.zero(start, end - start);
        }
    }

    private static void checkClean(Path img) throws Exception {
        ExternalTool.Result r = ExternalTool.qemuImg("check", img.toString());
        assertEquals(0, r.exitCode(), () -> "qemu-img check " + img + ":\n" + r.stdout() + r.stderr());
        assertTrue(r.stdout().contains("No errors were found"), r.stdout());
    }

    private static void assertSameAsShadow(byte[] actual, ShadowDisk shadow, String what) {
        assertEquals(shadow.size(), actual.length, what + ": size");
        long at = shadow.firstMismatch(0, actual);
        assertEquals(-1, at, () -> what + " differs from the shadow at guest offset 0x" + Long.toHexString(at));
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"on", "off"})
    void concurrentRequestsIntoTheSameSharedClustersKeepTheSnapshotIntact(String ext) throws Exception {
        Path img = dir.resolve("c.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", "extended_l2=" + ext, img.toString(), Integer.toString(SIZE));
        qemuIo(img, "write -q -P 0x11 0 " + (16 * CS));
        byte[] atS1 = Qcow2Images.qemuContent(img, dir);
        qemuImgOk("snapshot", "-c", "s1", img.toString());
        ShadowDisk shadow = new ShadowDisk(atS1);
        SplittableRandom random = SeededRandom.forTest("SnapshotCowTest.concurrent ext=" + ext);
        try (Qcow2Device d = Qcow2Images.open(img)) {
            for (int round = 0; round < 4; round++) {
                // 64 requests in flight at once (writes, zeroes, discards), 4 KiB each at distinct offsets, all
                // inside the 16 shared clusters.
                List<java.util.concurrent.CompletableFuture<Void>> inFlight = new ArrayList<>();
                java.util.BitSet used = new java.util.BitSet();
                for (int i = 0; i < 64; i++) {
                    int slot;
                    do {
                        slot = random.nextInt(16 * CS / 4096);
                    } while (used.get(slot));
                    used.set(slot);
                    long at = (long) slot * 4096;
                    int kind = random.nextInt(20);
                    if (kind < 14) {
                        byte[] data = Qcow2Images.pattern(4096, 0x40 + round * 16 + (i & 15));
                        shadow.write(at, data);
                        inFlight.add(d.write(at, java.lang.foreign.MemorySegment.ofArray(data)));
                    } else if (kind < 17) {
                        shadow.zero(at, 4096);
                        inFlight.add(d.writeZeroes(at, 4096, kind == 16));
                    } else {
                        shadow.forget(at, 4096);   // zeros or the old data, but nothing else and nowhere else
                        inFlight.add(d.discard(at, 4096));
                    }
                }
                java.util.concurrent.CompletableFuture.allOf(inFlight.toArray(
                        java.util.concurrent.CompletableFuture[]::new)).get();
            }
            assertSameAsShadow(Qcow2Images.readAll(d), shadow, "jblk's view after concurrent writes");
        }
        checkClean(img);
        assertSameAsShadow(Qcow2Images.qemuContent(img, dir), shadow, "QEMU's view after concurrent writes");
        qemuImgOk("snapshot", "-a", "s1", img.toString());
        checkClean(img);
        assertEquals(-1, java.util.Arrays.mismatch(atS1, Qcow2Images.qemuContent(img, dir)), "s1 restored");
    }
}
