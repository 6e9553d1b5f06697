package io.jblk.qcow2.check;

import java.util.Arrays;

/** How many references the metadata holds to each host cluster, counted while walking the image. */
final class ReferenceCounts {
    private long[] counts = new long[1024];
    private long highest = -1;

    void add(long cluster) {
        if (cluster >= counts.length) {
            counts = Arrays.copyOf(counts, (int) Math.min(Integer.MAX_VALUE - 8, Math.max(cluster + 1, counts.length * 2L)));
        }
        counts[(int) cluster]++;
        highest = Math.max(highest, cluster);
    }

    long get(long cluster) {
        return cluster < counts.length ? counts[(int) cluster] : 0;
    }

    /** Highest cluster referenced, or -1. */
    long highest() {
        return highest;
    }
}
