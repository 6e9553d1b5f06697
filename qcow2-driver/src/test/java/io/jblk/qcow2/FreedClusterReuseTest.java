package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertTrue;

class FreedClusterReuseTest {
    @TempDir
    Path dir;

    @Test
    void clustersFreedByUnmapAreReusedWithinOneSession() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path img = dir.resolve("r.qcow2");
        try (Qcow2Device d = Qcow2Images.create(img, 16 << 20, Map.of("extended_l2", "on"))) {
            for (int i = 0; i < 64; i++) {
                Qcow2Images.write(d, 0, Qcow2Images.pattern(65536, i));
                d.writeZeroes(0, 65536, true).get();
                Qcow2Images.write(d, 65536, Qcow2Images.pattern(65536, i));
                d.discard(65536, 65536).get();
            }
        }
        long end = Qcow2Images.qemuCheckNumbers(img).get("image-end-offset");
        Qcow2Images.assertQemuCheckClean(img);
        // Header, refcount table and block, L1, L2 and at most a few data clusters in flight: not 128 clusters.
        assertTrue(end <= 16L * 65536, "image end offset 0x" + Long.toHexString(end));
    }
}
