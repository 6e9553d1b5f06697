package io.jblk.qcow2;

import io.jblk.api.CreateOptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PreallocationLayoutTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(strings = {"off", "on"})
    void metadataPreallocationPutsEachL2TableBeforeItsDataClusters(String ext) throws Exception {
        Path img = dir.resolve("p.qcow2");
        new Qcow2Driver().create(img, CreateOptions.builder(4 << 20)
                .options(Map.of("preallocation", "metadata", "extended_l2", ext)).build());
        // Header, refcount table, refcount block, L1 at 0x30000; then the L2 table at 0x40000 and the data from
        // 0x50000 on, contiguous: qemu-img create's layout.
        long[] first = Qcow2Images.l2Entry(img, 0);
        long[] last = Qcow2Images.l2Entry(img, (4 << 20) - 65536);
        assertEquals(0x8000000000050000L, first[0]);
        assertEquals(0x8000000000050000L + (63L << 16), last[0]);
        assertEquals(0, first[1]);
    }

    /**
     * Metadata preallocation links data clusters without writing them, so a cluster it links must read as zeros. With
     * 512-byte clusters and 32- or 64-bit refcounts the refcount table grows during the preallocation of 4 MiB and its old
     * cluster is freed (its bytes stay, as in QEMU); the next data cluster reused it and the guest read the old
     * table's entries there. qemu-img allocates whole runs and skips that hole; both images must read as zeros.
     */
    @ParameterizedTest(name = "refcount_bits={0}")
    @ValueSource(strings = {"64", "32"})
    void metadataPreallocationReadsAsZerosWhenTheRefcountTableMoves(String refcountBits) throws Exception {
        Path img = dir.resolve("p.qcow2");
        long size = 4 << 20;
        new Qcow2Driver().create(img, CreateOptions.builder(size)
                .options(Map.of("preallocation", "metadata", "cluster_size", "512", "refcount_bits", refcountBits))
                .build());
        Qcow2Images.assertQemuCheckClean(img);
        Qcow2Images.assertSameAsRaw(img, new byte[(int) size], dir);
    }
}
