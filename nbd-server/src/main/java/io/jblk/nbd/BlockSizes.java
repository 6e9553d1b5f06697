package io.jblk.nbd;

import io.jblk.api.BlockLimits;

/**
 * The NBD_INFO_BLOCK_SIZE triple.
 *
 * @param minimum   every offset and length must be a multiple of this (the driver's request alignment)
 * @param preferred requests of this size and alignment avoid read-modify-write on the host
 * @param maximum   largest READ/WRITE payload accepted (at most the protocol's 32 MiB cap)
 */
record BlockSizes(int minimum, int preferred, int maximum) {
    /**
     * Preferred size: the host page, as qemu-nbd advertises for every format (raising it to the cluster size would
     * make clients such as qemu-img split differently from qemu-nbd without a measured gain).
     */
    static final int DEFAULT_PREFERRED = 4096;

    static BlockSizes of(BlockLimits limits) {
        int minimum = limits.requestAlignment();
        long max = Math.min(Nbd.MAX_PAYLOAD, limits.maxTransfer());
        int maximum = (int) (max - max % minimum);
        int preferred = Math.max(minimum, DEFAULT_PREFERRED);
        return new BlockSizes(minimum, Math.min(preferred, maximum), maximum);
    }
}
