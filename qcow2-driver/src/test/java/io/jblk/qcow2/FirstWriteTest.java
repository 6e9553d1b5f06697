package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

class FirstWriteTest {
    @TempDir
    Path dir;

    @Test
    void firstSmallWriteAllocatesTableThenClusterWithOneSubcluster() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("a.qcow2");
        byte[] shadow = new byte[1 << 20];
        try (Qcow2Device d = Qcow2Images.create(img, 1 << 20, Map.of("extended_l2", "on"))) {
            Qcow2Images.write(d, 3072, Qcow2Images.pattern(512, 0x11));
            System.arraycopy(Qcow2Images.pattern(512, 0x11), 0, shadow, 3072, 512);
            assertArrayEquals(Qcow2Images.pattern(512, 0x11), Qcow2Images.read(d, 3072, 512));
        }
        long[] e = Qcow2Images.l2Entry(img, 0);
        // L2 table first (cluster 4), then the data cluster (5), as QEMU allocates them; only subcluster 1 allocated.
        org.junit.jupiter.api.Assertions.assertEquals(0x8000000000050000L, e[0]);
        org.junit.jupiter.api.Assertions.assertEquals(0x2L, e[1]);
        Qcow2Images.assertQemuCheckClean(img);
        Qcow2Images.assertSameAsRaw(img, shadow, dir);
    }
}
