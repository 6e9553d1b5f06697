package io.jblk.nbd;

import io.jblk.api.BlockLimits;

/**
 * The NBD_INFO_BLOCK_SIZE triple.
 *
 * @param minimum   every offset and length must be a multiple of this (the driver's request alignment)
 * @param preferred requests of this size and alignment avoid read-modify-write in the driver
 * @param maximum   largest READ/WRITE payload accepted (at most the protocol's 32 MiB cap)
 */
record BlockSizes(int minimum, int preferred, int maximum) {
    /** Preferred size when the driver names no allocation unit: the host page, as qemu-nbd advertises. */
    static final int DEFAULT_PREFERRED = 4096;

    static BlockSizes of(BlockLimits limits) {
        int minimum = limits.requestAlignment();
        long max = Math.min(Nbd.MAX_PAYLOAD, limits.maxTransfer());
        int maximum = (int) (max - max % minimum);
        int preferred = Math.max(minimum, Math.max(DEFAULT_PREFERRED, limits.optimalIoSize()));
        return new BlockSizes(minimum, Math.min(preferred, maximum), maximum);
    }
}
