package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;

import java.lang.foreign.MemorySegment;

/**
 * The virtio-blk configuration space (spec "Device configuration layout"), derived once from the block device's
 * size and limits. {@link #encode()} is the only place that knows the byte layout.
 *
 * @param capacity              size in 512-byte sectors
 * @param sizeMax               largest single data segment, bytes
 * @param segMax                most data segments per request
 * @param blkSize               logical block size, bytes; requests must be aligned to it
 * @param physicalBlockExp      log2(physical block / logical block): the driver's allocation granularity
 *                              (the subcluster size for qcow2 with extended L2 entries)
 * @param minIoSize             suggested minimum I/O size in logical blocks
 * @param optIoSize             optimal I/O size in logical blocks (the cluster size)
 * @param numQueues             number of request queues
 * @param maxDiscardSectors     largest discard segment, sectors
 * @param maxDiscardSeg         most discard segments per request
 * @param discardSectorAlignment discard alignment in sectors (the allocation granularity)
 * @param maxWriteZeroesSectors largest write-zeroes segment, sectors
 * @param maxWriteZeroesSeg     most write-zeroes segments per request
 * @param writeZeroesMayUnmap   whether the UNMAP flag of write-zeroes may release storage
 */
public record VirtioBlkConfig(long capacity, int sizeMax, int segMax, int blkSize, int physicalBlockExp,
                              int minIoSize, int optIoSize, int numQueues, int maxDiscardSectors,
                              int maxDiscardSeg, int discardSectorAlignment, int maxWriteZeroesSectors,
                              int maxWriteZeroesSeg, boolean writeZeroesMayUnmap) {
    public static final int SECTOR = 512;
    /** Bytes of config space this device defines (through write_zeroes_may_unmap and its padding). */
    public static final int SIZE = 60;
    /** Largest segment advertised in size_max. */
    static final long SIZE_MAX_CAP = 4L << 20;
    /** Largest discard/write-zeroes segment advertised, in bytes. */
    static final long DISCARD_MAX_CAP = 1L << 30;

    /** The configuration that fits {@code device} with {@code numQueues} queues of up to {@code queueSize}. */
    public static VirtioBlkConfig of(BlockDevice device, int numQueues, int queueSize, int maxDiscardSegments) {
        BlockLimits limits = device.limits();
        int blkSize = Math.max(SECTOR, limits.requestAlignment());
        int granularity = Math.max(blkSize, limits.allocationGranularity());
        int blocksPerGranule = granularity / blkSize;
        long sizeMax = Math.min(limits.maxTransfer(), SIZE_MAX_CAP) / blkSize * blkSize;
        long discardBytes = Math.min(limits.maxDiscard(), DISCARD_MAX_CAP) / granularity * granularity;
        if (discardBytes == 0) {
            discardBytes = granularity;
        }
        return new VirtioBlkConfig(device.size() / blkSize * (blkSize / SECTOR), (int) sizeMax,
                Math.max(1, queueSize - 2), blkSize, Integer.numberOfTrailingZeros(Integer.highestOneBit(
                blocksPerGranule)), Math.min(0xFFFF, blocksPerGranule), limits.optimalIoSize() / blkSize, numQueues,
                (int) (discardBytes / SECTOR), maxDiscardSegments, granularity / SECTOR, (int) (discardBytes / SECTOR),
                maxDiscardSegments, true);
    }

    /** Logical block size in sectors: sector numbers and counts must be multiples of it. */
    public int sectorsPerBlock() {
        return blkSize / SECTOR;
    }

    /** The config space bytes, little-endian. */
    public byte[] encode() {
        byte[] bytes = new byte[SIZE];
        MemorySegment s = MemorySegment.ofArray(bytes);
        s.set(LittleEndian.U64, 0, capacity);
        s.set(LittleEndian.U32, 8, sizeMax);
        s.set(LittleEndian.U32, 12, segMax);
        // geometry (16..19) stays zero: GEOMETRY is not offered
        s.set(LittleEndian.U32, 20, blkSize);
        bytes[24] = (byte) physicalBlockExp;
        bytes[25] = 0; // alignment_offset
        s.set(LittleEndian.U16, 26, (short) minIoSize);
        s.set(LittleEndian.U32, 28, optIoSize);
        bytes[32] = 0; // writeback: only meaningful with CONFIG_WCE, not offered
        s.set(LittleEndian.U16, 34, (short) numQueues);
        s.set(LittleEndian.U32, 36, maxDiscardSectors);
        s.set(LittleEndian.U32, 40, maxDiscardSeg);
        s.set(LittleEndian.U32, 44, discardSectorAlignment);
        s.set(LittleEndian.U32, 48, maxWriteZeroesSectors);
        s.set(LittleEndian.U32, 52, maxWriteZeroesSeg);
        bytes[56] = (byte) (writeZeroesMayUnmap ? 1 : 0);
        return bytes;
    }
}
