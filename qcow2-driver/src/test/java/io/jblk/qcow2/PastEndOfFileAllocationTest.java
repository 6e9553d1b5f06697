package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A data cluster allocated at or past the end of the image file is a hole until written, so the zero COW areas
 * around a small write need neither zero writes nor fallocate; clusters reused below the end must still be zeroed,
 * and COW areas with backing data must still be copied.
 */
class PastEndOfFileAllocationTest {
    private static final int CLUSTER = 65536;

    @TempDir
    Path dir;

    /** Host offset of a guest cluster's data, from its L2 entry. */
    private static long host(Path image, long guestOffset) throws Exception {
        return Qcow2Images.l2Entry(image, guestOffset)[0] & 0x00fffffffffffe00L;
    }

    private static long nextData(Path image, long offset) throws Exception {
        try (HostFile f = HostFile.open(image, HostFileOptions.defaults().withReadOnly(true).withLock(false))) {
            return f.nextData(offset);
        }
    }

    @Test
    void zeroCowAreasOfANewClusterStayHoles() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("a.qcow2");
        byte[] shadow = new byte[4 << 20];
        byte[] data = Qcow2Images.pattern(4096, 0x5c);
        try (Qcow2Device d = Qcow2Images.create(img, shadow.length, Map.of("cluster_size", "64k"))) {
            Qcow2Images.write(d, 20480, data);
            System.arraycopy(data, 0, shadow, 20480, data.length);
            byte[] back = Qcow2Images.read(d, 0, CLUSTER);
            assertArrayEquals(java.util.Arrays.copyOf(shadow, CLUSTER), back);
        }
        long h = host(img, 0);
        assertEquals(h + 20480, nextData(img, h), "the 20 KiB head of the new cluster is a hole, not written zeros");
        assertTrue(Files.size(img) <= h + 20480 + 4096, "the file ends with the written data: " + Files.size(img));
        Qcow2Images.assertQemuCheckClean(img);
        Qcow2Images.assertSameAsRaw(img, shadow, dir);
    }

    @Test
    void aReusedClusterBelowTheEndIsStillZeroed() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("b.qcow2");
        byte[] shadow = new byte[4 << 20];
        byte[] old = Qcow2Images.pattern(CLUSTER, 0x77);
        byte[] small = Qcow2Images.pattern(4096, 0x21);
        try (Qcow2Device d = Qcow2Images.create(img, shadow.length, Map.of("cluster_size", "64k"))) {
            Qcow2Images.write(d, 0, old);
            Qcow2Images.write(d, CLUSTER, Qcow2Images.pattern(CLUSTER, 0x78)); // keeps the end of file past cluster 0
            d.flush().get();
            long first = host(img, 0);
            d.discard(0, CLUSTER).get(); // frees the host cluster holding 0x77s
            d.flush().get();
            Qcow2Images.write(d, 2L * CLUSTER + 8192, small);
            d.flush().get();
            assertEquals(first, host(img, 2L * CLUSTER), "lowest-free allocation reuses the freed cluster");
            System.arraycopy(Qcow2Images.pattern(CLUSTER, 0x78), 0, shadow, CLUSTER, CLUSTER);
            System.arraycopy(small, 0, shadow, 2 * CLUSTER + 8192, small.length);
            assertArrayEquals(java.util.Arrays.copyOfRange(shadow, 2 * CLUSTER, 3 * CLUSTER),
                    Qcow2Images.read(d, 2L * CLUSTER, CLUSTER), "no stale 0x77 bytes around the new write");
        }
        Qcow2Images.assertQemuCheckClean(img);
        Qcow2Images.assertSameAsRaw(img, shadow, dir);
    }

    @Test
    void backingDataAroundAWriteIsCopiedEvenPastTheEnd() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path base = dir.resolve("base.raw");
        byte[] shadow = new byte[1 << 20];
        java.util.Arrays.fill(shadow, (byte) 0xa5);
        Files.write(base, shadow);
        Path img = dir.resolve("c.qcow2");
        Qcow2Images.qemuImgOk("create", "-f", "qcow2", "-o", "cluster_size=64k", "-b", base.toString(), "-F", "raw",
                img.toString(), "1M");
        byte[] data = Qcow2Images.pattern(4096, 0x3e);
        try (Qcow2Device d = Qcow2Images.open(img)) {
            Qcow2Images.write(d, 4L * CLUSTER + 12288, data);
            System.arraycopy(data, 0, shadow, 4 * CLUSTER + 12288, data.length);
        }
        long h = host(img, 4L * CLUSTER);
        assertEquals(h, nextData(img, h), "the COW head holds copied backing data");
        Qcow2Images.assertQemuCheckClean(img);
        Qcow2Images.assertSameAsRaw(img, shadow, dir);
    }
}
