package io.jblk.qcow2.format;

/**
 * Where a compressed cluster's bytes are: a host byte offset (not aligned) and a length in 512-byte sectors. The
 * split between the two fields depends on the cluster size: the offset takes bits {@code 0 .. 69-cluster_bits}, the
 * count of additional sectors the bits above, up to bit 61.
 */
public record CompressedDescriptor(long hostOffset, int additionalSectors) {
    public static final int SECTOR = 512;

    public static CompressedDescriptor decode(long word, int clusterBits) {
        int split = 70 - clusterBits;
        long descriptor = word & ((1L << 62) - 1);
        long offset = descriptor & ((1L << split) - 1);
        int sectors = (int) (descriptor >>> split);
        return new CompressedDescriptor(offset, sectors);
    }

    /** The 64-bit L2 word (with the compressed flag) for {@code length} compressed bytes at {@code hostOffset}. */
    public static long encode(long hostOffset, int length, int clusterBits) {
        int split = 70 - clusterBits;
        long lastSector = (hostOffset + length - 1) / SECTOR;
        long additional = lastSector - hostOffset / SECTOR;
        return L2Entry.COMPRESSED | (additional << split) | hostOffset;
    }

    /** Bytes QEMU reads for this descriptor: the sectors counted, from the offset to the end of the last one. */
    public int byteLength() {
        return (additionalSectors + 1) * SECTOR - (int) (hostOffset % SECTOR);
    }

    /** First and last host cluster the compressed bytes touch (each compressed piece references every one). */
    public long firstHostCluster(int clusterBits) {
        return hostOffset >>> clusterBits;
    }

    public long lastHostCluster(int clusterBits) {
        return (hostOffset + byteLength() - 1) >>> clusterBits;
    }
}
