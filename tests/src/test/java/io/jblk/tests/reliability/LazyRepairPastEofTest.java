package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.tests.reliability.hostile.HeaderField;
import io.jblk.tests.reliability.hostile.Qcow2Image;
import io.jblk.tests.reliability.hostile.Qcow2ImageBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crash state QEMU 7.2 mishandles (reliability notes §0.5, §1.5): lazy refcounts, dirty bit set, an L2 entry
 * that survived the crash while its data cluster (at the end of the file) did not, so it points past EOF. The
 * automatic repair on a read-write open must count that reference before allocating anything, so later
 * allocations never land on the referenced cluster (which would make two guest clusters share one host cluster).
 */
class LazyRepairPastEofTest {

    @Test
    void repairNeverAllocatesOverAClusterReferencedPastEof(@TempDir Path dir) throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Qcow2Image base = new Qcow2ImageBuilder().dataClusters(1).build();
        int c = base.clusterSize();
        byte[] bytes = base.copyBytes();
        ByteBuffer b = ByteBuffer.wrap(bytes);
        long pastEof = bytes.length; // the cluster right after the end: the next one an allocator would pick
        b.putLong((int) base.l2Offset() + 8, pastEof | (1L << 63)); // guest cluster 1 → past EOF, COPIED
        b.putLong(HeaderField.COMPATIBLE_FEATURES.offset, 1); // lazy_refcounts
        b.putLong(HeaderField.INCOMPATIBLE_FEATURES.offset, 1); // dirty
        Path image = dir.resolve("dirty.qcow2");
        Files.write(image, bytes);

        byte[][] written = new byte[4][];
        try (BlockDevice dev = Qcow2UnderTest.QCOW2.open(image, HostFileOpener.DEFAULT, false)) {
            for (int i = 0; i < written.length; i++) {
                long guest = (long) (2 + i) * c;
                Workload.write(dev, guest, c, 100 + i);
                written[i] = read(dev, guest, c);
            }
            Workload.await(dev.flush());
        }
        try (BlockDevice dev = Qcow2UnderTest.QCOW2.open(image, HostFileOpener.DEFAULT, true)) {
            byte[] cluster1 = read(dev, c, c);
            for (int i = 0; i < written.length; i++) {
                assertArrayEquals(written[i], read(dev, (long) (2 + i) * c, c), "guest cluster " + (2 + i));
                assertFalse(Arrays.equals(cluster1, written[i]),
                        "guest cluster 1 (referenced past EOF) now shares a host cluster with guest cluster " + (2 + i));
            }
        }
        QemuImgCheck.Report report = QemuImgCheck.run(image, null);
        assertFalse(report.transcript().contains("reference=2"), "double reference: " + report.transcript());
        assertTrue(report.checkErrors() == 0, report.transcript());
    }

    private static byte[] read(BlockDevice dev, long offset, int length) throws Exception {
        try (var arena = java.lang.foreign.Arena.ofShared()) {
            var buffer = arena.allocate(length);
            Workload.await(dev.read(offset, buffer));
            return buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}
