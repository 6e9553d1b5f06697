package io.jblk.qcow2.format;

/** What one subcluster (or, without extended L2, one cluster) holds; QEMU's classification, same names. */
public enum SubclusterType {
    /** No host cluster, no zero flag: reads from the backing chain, or zeros without one. */
    UNALLOCATED_PLAIN,
    /** The cluster has a host offset but this subcluster is not allocated: still reads from the backing chain. */
    UNALLOCATED_ALLOC,
    /** Reads as zeros without a host cluster; never consults the backing chain. */
    ZERO_PLAIN,
    /** Reads as zeros; the host cluster exists but its bytes for this subcluster are stale. */
    ZERO_ALLOC,
    /** Data at host offset + subcluster offset. */
    NORMAL,
    /** The whole cluster is stored compressed; no subclusters. */
    COMPRESSED,
    /** The entry contradicts itself; reading it is a corruption. */
    INVALID;

    public boolean readsAsZero() {
        return this == ZERO_PLAIN || this == ZERO_ALLOC;
    }

    public boolean isUnallocated() {
        return this == UNALLOCATED_PLAIN || this == UNALLOCATED_ALLOC;
    }

    /** Whether reads of this subcluster fall through to the backing chain. */
    public boolean readsFromBacking() {
        return isUnallocated();
    }
}
