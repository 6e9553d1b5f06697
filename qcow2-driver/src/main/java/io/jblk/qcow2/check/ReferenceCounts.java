package io.jblk.qcow2.check;

import java.util.HashMap;
import java.util.Map;

/**
 * How many references the metadata holds to each host cluster of the image file, counted while walking the image.
 * Only clusters inside the file are counted (a reference beyond the end is reported by the walker instead, as
 * QEMU does), and counts live in pages allocated on first use: memory follows the clusters actually referenced,
 * never an offset an entry claims.
 */
final class ReferenceCounts {
    private static final int PAGE_BITS = 16;
    private static final int PAGE_MASK = (1 << PAGE_BITS) - 1;

    private final long clusters;
    private final Map<Long, int[]> pages = new HashMap<>();
    private long highest = -1;

    /** Counts for clusters {@code 0 .. clusters-1}: the clusters of the image file. */
    ReferenceCounts(long clusters) {
        this.clusters = clusters;
    }

    /** Whether {@code cluster} lies inside the file, so that references to it are counted. */
    boolean inFile(long cluster) {
        return cluster >= 0 && cluster < clusters;
    }

    /** Adds one reference to a cluster inside the file. */
    void add(long cluster) {
        if (!inFile(cluster)) {
            throw new IllegalArgumentException("cluster " + cluster + " is outside the file's " + clusters);
        }
        int[] page = pages.computeIfAbsent(cluster >>> PAGE_BITS, p -> new int[1 << PAGE_BITS]);
        int i = (int) (cluster & PAGE_MASK);
        if (page[i] != Integer.MAX_VALUE) {
            page[i]++;
        }
        highest = Math.max(highest, cluster);
    }

    long get(long cluster) {
        int[] page = inFile(cluster) ? pages.get(cluster >>> PAGE_BITS) : null;
        return page == null ? 0 : page[(int) (cluster & PAGE_MASK)];
    }

    /** Highest cluster referenced, or -1. */
    long highest() {
        return highest;
    }
}
