package io.jblk.qcow2.format;

/**
 * One L2 entry: the 64-bit cluster descriptor and, for extended L2 images, the 64-bit subcluster bitmap (bits 0-31
 * "allocated", bits 32-63 "reads as zero", subcluster x at bit x, LSB first). The only type that knows these bits.
 */
public record L2Entry(long word, long bitmap) {
    public static final long COPIED = 1L << 63;
    public static final long COMPRESSED = 1L << 62;
    /** "Reads as zeros" flag of standard v3 entries; unused (and ignored) with extended L2. */
    public static final long ZERO_FLAG = 1L;
    public static final long OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    public static final long RESERVED_MASK = 0x3f00_0000_0000_01feL;
    public static final long ALL_ALLOCATED = 0x0000_0000_ffff_ffffL;
    public static final long ALL_ZERO = 0xffff_ffff_0000_0000L;
    public static final L2Entry UNALLOCATED = new L2Entry(0, 0);

    public static long allocBit(int subcluster) {
        return 1L << subcluster;
    }

    public static long zeroBit(int subcluster) {
        return 1L << (32 + subcluster);
    }

    /** Allocation bits of subclusters {@code first..last} inclusive. */
    public static long allocRange(int first, int last) {
        return (0xffff_ffffL >>> (31 - last + first)) << first;
    }

    public static long zeroRange(int first, int last) {
        return allocRange(first, last) << 32;
    }

    public boolean isCompressed() {
        return (word & COMPRESSED) != 0;
    }

    public boolean isCopied() {
        return (word & COPIED) != 0;
    }

    /** Host cluster offset of a standard cluster (0 = none). */
    public long hostOffset() {
        return word & OFFSET_MASK;
    }

    public int allocationMask() {
        return (int) bitmap;
    }

    public int zeroMask() {
        return (int) (bitmap >>> 32);
    }

    /**
     * Whether a standard cluster has host storage. With an external data file, offset 0 is a valid host offset and
     * the COPIED bit is what marks the entry as allocated.
     */
    public boolean hasHostCluster(boolean externalData) {
        return !isCompressed() && (hostOffset() != 0 || (externalData && isCopied()));
    }

    /**
     * Why the whole entry is invalid in an extended L2 image, or null when it is consistent. QEMU checks the whole
     * entry on every access, not only the subcluster asked for.
     */
    public String extendedInconsistency(boolean externalData) {
        if (isCompressed()) {
            return null;
        }
        int alloc = allocationMask();
        if (hasHostCluster(externalData)) {
            int both = alloc & zeroMask();
            return both == 0 ? null : "allocated cluster has subclusters both allocated and zero (mask 0x"
                    + Integer.toHexString(both) + ")";
        }
        return alloc == 0 ? null : "unallocated cluster has allocation bits 0x" + Integer.toHexString(alloc);
    }

    /** Classifies subcluster {@code index} (0 for standard entries) the way QEMU does. */
    public SubclusterType type(int index, boolean extendedL2, boolean externalData) {
        if (isCompressed()) {
            return SubclusterType.COMPRESSED;
        }
        boolean allocated = hasHostCluster(externalData);
        if (!extendedL2) {
            if ((word & ZERO_FLAG) != 0) {
                // QEMU decides zero clusters by the offset alone, even with an external data file (where COPIED
                // with offset 0 otherwise means "allocated at guest offset 0").
                return hostOffset() != 0 ? SubclusterType.ZERO_ALLOC : SubclusterType.ZERO_PLAIN;
            }
            return allocated ? SubclusterType.NORMAL : SubclusterType.UNALLOCATED_PLAIN;
        }
        if (extendedInconsistency(externalData) != null) {
            return SubclusterType.INVALID;
        }
        boolean zero = (bitmap & zeroBit(index)) != 0;
        if (allocated) {
            if (zero) {
                return SubclusterType.ZERO_ALLOC;
            }
            return (bitmap & allocBit(index)) != 0 ? SubclusterType.NORMAL : SubclusterType.UNALLOCATED_ALLOC;
        }
        return zero ? SubclusterType.ZERO_PLAIN : SubclusterType.UNALLOCATED_PLAIN;
    }

    /** Number of subclusters starting at {@code index} that have the same type as {@code index}. */
    public int runLength(int index, int subclusters, boolean extendedL2, boolean externalData) {
        SubclusterType type = type(index, extendedL2, externalData);
        int end = index + 1;
        while (end < subclusters && type(end, extendedL2, externalData) == type) {
            end++;
        }
        return end - index;
    }

    public L2Entry withWord(long newWord) {
        return new L2Entry(newWord, bitmap);
    }

    public L2Entry withBitmap(long newBitmap) {
        return new L2Entry(word, newBitmap);
    }

    /** Marks subclusters {@code first..last} allocated and no longer zero. */
    public L2Entry allocating(int first, int last) {
        long range = allocRange(first, last);
        return new L2Entry(word, (bitmap | range) & ~(range << 32));
    }

    /** Marks subclusters {@code first..last} as reading zero and no longer allocated. */
    public L2Entry zeroing(int first, int last) {
        long range = allocRange(first, last);
        return new L2Entry(word, (bitmap | (range << 32)) & ~range);
    }

    /** Marks subclusters {@code first..last} unallocated and not zero (they read from the backing chain again). */
    public L2Entry unallocating(int first, int last) {
        long range = allocRange(first, last);
        return new L2Entry(word, bitmap & ~range & ~(range << 32));
    }

    @Override
    public String toString() {
        return String.format("%016x %016x", word, bitmap);
    }
}
