package io.jblk.qcow2.check;

import java.util.Map;
import java.util.TreeMap;

/**
 * Disjoint ranges of host clusters (the L1 tables walked so far), to tell in O(log n) whether a new table would
 * overlap one of them. A second L1 table over the same clusters is corrupt whatever it holds; not walking it keeps
 * the check's time bounded by the file even when thousands of snapshot entries name the same huge table.
 */
final class ClusterRanges {
    private final TreeMap<Long, Long> ranges = new TreeMap<>();

    /** Whether {@code [first, first+count)} overlaps a range added before. */
    boolean overlaps(long first, long count) {
        if (count <= 0) {
            return false;
        }
        Map.Entry<Long, Long> below = ranges.floorEntry(first);
        if (below != null && below.getValue() > first) {
            return true;
        }
        Long above = ranges.ceilingKey(first);
        return above != null && above < first + count;
    }

    /** Adds a range that overlaps none added before. */
    void add(long first, long count) {
        if (count > 0) {
            ranges.put(first, first + count);
        }
    }
}
