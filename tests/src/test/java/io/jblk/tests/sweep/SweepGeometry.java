package io.jblk.tests.sweep;

import java.util.ArrayList;
import java.util.List;

/**
 * One point of the qcow2 creation option space the sweep covers: cluster size, extended L2 entries and refcount
 * width, with the numbers derived from them that decide where the metadata crosses a boundary. Computed here from the
 * qcow2 specification, independently of the driver.
 *
 * @param clusterBits  9 (512 B) .. 21 (2 MiB)
 * @param extendedL2   128-bit L2 entries (legal from 16 KiB clusters)
 * @param refcountBits 1, 2, 4, 8, 16, 32 or 64
 */
record SweepGeometry(int clusterBits, boolean extendedL2, int refcountBits) {
    static final int MIN_CLUSTER_BITS = 9;
    static final int MAX_CLUSTER_BITS = 21;
    static final int MIN_EXTENDED_CLUSTER_BITS = 14;
    static final int[] REFCOUNT_WIDTHS = {1, 2, 4, 8, 16, 32, 64};
    /** QEMU's (and jblk's) limit on the L1 table: 32 MiB. */
    static final long MAX_L1_BYTES = 32L << 20;
    /** Clusters every new image starts with: header, refcount table, first refcount block. */
    static final long INITIAL_CLUSTERS = 3;

    /** Every legal geometry: 13 cluster sizes x extended L2 where legal x 7 refcount widths (147). */
    static List<SweepGeometry> all() {
        List<SweepGeometry> out = new ArrayList<>();
        for (int bits = MIN_CLUSTER_BITS; bits <= MAX_CLUSTER_BITS; bits++) {
            for (boolean ext : new boolean[] {false, true}) {
                if (ext && bits < MIN_EXTENDED_CLUSTER_BITS) {
                    continue;
                }
                for (int width : REFCOUNT_WIDTHS) {
                    out.add(new SweepGeometry(bits, ext, width));
                }
            }
        }
        return out;
    }

    long clusterSize() {
        return 1L << clusterBits;
    }

    /** Guest bytes one L2 table (one L1 entry) maps. */
    long l2Coverage() {
        return (clusterSize() / (extendedL2 ? 16 : 8)) * clusterSize();
    }

    long l1EntriesPerCluster() {
        return clusterSize() / 8;
    }

    long maxL1Entries() {
        return MAX_L1_BYTES / 8;
    }

    long maxL1Clusters() {
        return MAX_L1_BYTES / clusterSize();
    }

    /** The largest virtual size: a full L1 table. */
    long maxSize() {
        return maxL1Entries() * l2Coverage();
    }

    /** Clusters one refcount block counts. */
    long refcountsPerBlock() {
        return clusterSize() * 8 / refcountBits;
    }

    /** Refcount blocks one cluster of the refcount table points to. */
    long blocksPerTableCluster() {
        return clusterSize() / 8;
    }

    long l1Entries(long size) {
        return Math.ceilDiv(size, l2Coverage());
    }

    long l1Clusters(long size) {
        return Math.ceilDiv(l1Entries(size) * 8, clusterSize());
    }

    /**
     * Clusters of metadata a new image of {@code size} needs: header, refcount table and block, the L1 table and the
     * refcount blocks counting all of it (roughly: the table growths are left out). Bounds the time an operation may
     * take, and the qemu-img budget.
     */
    long metadataClusters(long size) {
        long l1 = l1Clusters(size);
        return INITIAL_CLUSTERS + l1 + Math.ceilDiv(INITIAL_CLUSTERS + l1, refcountsPerBlock());
    }

    /**
     * What qemu-img 7.2 pays for the metadata of {@code size}, in units of roughly 3 us: its allocator looks at every
     * cluster of the L1 table's run again for each refcount block the run needs (measured: 128 GiB with 512-byte
     * clusters takes 1.7 s with 1-bit refcounts, 23 s with 16-bit, 205 s with 64-bit).
     */
    long qemuCost(long size) {
        long l1 = l1Clusters(size);
        return l1 * (l1 / refcountsPerBlock() + 1);
    }

    /** The {@code -o} options of {@code create}. */
    String options() {
        return "cluster_size=" + clusterSize() + ",extended_l2=" + (extendedL2 ? "on" : "off")
                + ",refcount_bits=" + refcountBits;
    }

    @Override
    public String toString() {
        String size = clusterSize() >= 1 << 20 ? (clusterSize() >> 20) + "M"
                : clusterSize() >= 1024 ? (clusterSize() >> 10) + "k" : Long.toString(clusterSize());
        return size + (extendedL2 ? "+ext" : "") + "/rc" + refcountBits;
    }
}
