package io.jblk.qcow2.format;

/**
 * How guest offsets split into L1 index, L2 index, subcluster index and offset inside a cluster. Extended L2
 * entries are 16 bytes instead of 8, which halves the guest space one L2 table covers; every subcluster is
 * {@code clusterSize / 32}.
 */
public record ClusterGeometry(int clusterBits, boolean extendedL2) {
    public static final int MIN_CLUSTER_BITS = 9;
    public static final int MAX_CLUSTER_BITS = 21;
    /** Extended L2 needs subclusters of at least 512 bytes, so clusters of at least 16 KiB. */
    public static final int MIN_EXTENDED_CLUSTER_BITS = 14;
    public static final int SUBCLUSTERS_PER_EXTENDED_CLUSTER = 32;

    public ClusterGeometry {
        if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) {
            throw new IllegalArgumentException("cluster_bits " + clusterBits + " outside 9..21");
        }
        if (extendedL2 && clusterBits < MIN_EXTENDED_CLUSTER_BITS) {
            throw new IllegalArgumentException("extended L2 needs cluster_bits >= 14, got " + clusterBits);
        }
    }

    public int clusterSize() {
        return 1 << clusterBits;
    }

    public int l2EntrySize() {
        return extendedL2 ? 16 : 8;
    }

    public int l2Entries() {
        return clusterSize() / l2EntrySize();
    }

    public int subclustersPerCluster() {
        return extendedL2 ? SUBCLUSTERS_PER_EXTENDED_CLUSTER : 1;
    }

    public int subclusterSize() {
        return clusterSize() / subclustersPerCluster();
    }

    /** Guest bytes covered by one L2 table. */
    public long l2Coverage() {
        return (long) l2Entries() << clusterBits;
    }

    public long clusterIndex(long guestOffset) {
        return guestOffset >>> clusterBits;
    }

    public int l1Index(long guestOffset) {
        return Math.toIntExact(guestOffset / l2Coverage());
    }

    public int l2Index(long guestOffset) {
        return (int) (clusterIndex(guestOffset) % l2Entries());
    }

    public int offsetInCluster(long offset) {
        return (int) (offset & (clusterSize() - 1));
    }

    public int subclusterIndex(long guestOffset) {
        return offsetInCluster(guestOffset) / subclusterSize();
    }

    public long clusterStart(long offset) {
        return offset & -(long) clusterSize();
    }

    public long roundUpToCluster(long bytes) {
        return (bytes + clusterSize() - 1) & -(long) clusterSize();
    }

    public boolean isClusterAligned(long offset) {
        return offsetInCluster(offset) == 0;
    }

    /** L1 entries needed to map a disk of {@code virtualSize} bytes. */
    public long l1EntriesFor(long virtualSize) {
        return virtualSize / l2Coverage() + (virtualSize % l2Coverage() == 0 ? 0 : 1); // no overflow near 2^63
    }
}
