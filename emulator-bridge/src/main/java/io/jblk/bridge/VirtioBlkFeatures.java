package io.jblk.bridge;

/** Feature bit numbers of virtio-blk and of the ring (virtio 1.2, "Block Device" and "Reserved Feature Bits"). */
public final class VirtioBlkFeatures {
    public static final int SIZE_MAX = 1;
    public static final int SEG_MAX = 2;
    public static final int RO = 5;
    public static final int BLK_SIZE = 6;
    public static final int FLUSH = 9;
    public static final int TOPOLOGY = 10;
    public static final int MQ = 12;
    public static final int DISCARD = 13;
    public static final int WRITE_ZEROES = 14;
    public static final int RING_INDIRECT_DESC = 28;
    public static final int RING_EVENT_IDX = 29;
    public static final int VERSION_1 = 32;

    private VirtioBlkFeatures() {
    }

    public static long bit(int feature) {
        return 1L << feature;
    }

    public static boolean has(long features, int feature) {
        return (features & bit(feature)) != 0;
    }
}
