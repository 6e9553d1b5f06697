package io.jblk.api;

/**
 * Alignments and sizes a device reports, in bytes. Requests need not honour the preferred values; they must honour
 * {@code requestAlignment}.
 *
 * @param requestAlignment    offsets and lengths of every request must be multiples of this (1 = any byte)
 * @param optimalIoSize       the unit in which the format allocates (cluster size; 0 = none)
 * @param allocationGranularity the smallest unit that can be allocated, zeroed or discarded on its own
 *                            (the subcluster size for qcow2 with extended L2 entries, else the cluster size)
 * @param maxTransfer         largest single read or write the device accepts
 * @param maxDiscard          largest discard or write-zeroes request the device accepts
 */
public record BlockLimits(int requestAlignment, int optimalIoSize, int allocationGranularity, long maxTransfer,
                          long maxDiscard) {

    public BlockLimits {
        if (requestAlignment < 1 || Integer.bitCount(requestAlignment) != 1) {
            throw new IllegalArgumentException("requestAlignment must be a power of two, got " + requestAlignment);
        }
        if (maxTransfer < requestAlignment || maxDiscard < requestAlignment) {
            throw new IllegalArgumentException("maxTransfer " + maxTransfer + " / maxDiscard " + maxDiscard
                    + " smaller than requestAlignment " + requestAlignment);
        }
    }
}
