package io.jblk.tests.sweep;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

/**
 * The virtual sizes at which a new image's metadata crosses a boundary, computed from the geometry (never picked by
 * hand): the L1 table crossing a cluster, the L1 table (from cluster 3 on, after header, refcount table and first
 * refcount block) filling a refcount block's range, the refcount blocks placed after it filling the next range, the
 * refcount table needing another cluster, and the largest size the geometry allows. Each boundary is tried at its
 * size and one cluster of guest space either side (which moves the L1 table by one entry across it).
 */
final class Boundaries {
    /** A family of boundaries; {@link #instances} lists its members for one geometry, smallest first. */
    enum Kind {
        /** Sizes 0, 512, one cluster, one L2 table's coverage and a cluster either side of it. */
        TINY,
        /** The L1 table grows from k to k+1 clusters. */
        L1_CLUSTER,
        /** The L1 table, from cluster 3, ends on the last cluster a refcount block counts (and one past it). */
        L1_FILLS_BLOCK,
        /** The L1 table plus the refcount blocks that go right after it end on a refcount block's last cluster. */
        BLOCKS_FILL_RANGE,
        /** The refcount blocks needed outgrow what the refcount table's clusters can point to (the table grows). */
        REFTABLE_CLUSTER,
        /** The largest size (a full 32 MiB L1 table) and a cluster below it. */
        LARGEST
    }

    /**
     * One boundary.
     *
     * @param instance which member of its family (k, m or n of the javadoc above), for the test's name
     * @param sizes    the sizes to try, ascending, each at most the geometry's largest
     */
    record Boundary(Kind kind, long instance, List<Long> sizes) {
        long largestSize() {
            return sizes.getLast();
        }
    }

    private Boundaries() {
    }

    /**
     * The members of a family for a geometry, smallest first. With {@code every} false the long families are
     * thinned to their first few members, the powers of two, the members where the refcount table needs another
     * cluster, and the last; with {@code every} true each member is listed (hundreds for 512-byte clusters).
     */
    static List<Boundary> instances(SweepGeometry g, Kind kind, boolean every) {
        List<Boundary> out = new ArrayList<>();
        long perBlock = g.refcountsPerBlock();
        long maxK = g.maxL1Clusters();
        switch (kind) {
            case TINY -> {
                long cs = g.clusterSize();
                long cov = g.l2Coverage();
                out.add(new Boundary(kind, 0, sizes(g, 0, 512, cs, cov - cs, cov, cov + cs)));
            }
            case L1_CLUSTER -> {
                for (long k = 1; k < maxK; k++) {
                    if (every || k <= 2 || k == maxK - 1) {
                        out.add(new Boundary(kind, k, around(g, k)));
                    }
                }
            }
            case L1_FILLS_BLOCK -> {
                for (long m = 1; m * perBlock - SweepGeometry.INITIAL_CLUSTERS <= maxK; m++) {
                    long k = m * perBlock - SweepGeometry.INITIAL_CLUSTERS;
                    if (k >= 1 && (every || thinned(g, m, maxK))) {
                        out.add(new Boundary(kind, m, around(g, k)));
                    }
                }
            }
            case BLOCKS_FILL_RANGE -> {
                for (long m = 2; m <= perBlock && fillsRange(g, m) <= maxK; m++) {
                    if (every || thinned(g, m, maxK)) {
                        out.add(new Boundary(kind, m, around(g, fillsRange(g, m))));
                    }
                }
            }
            case REFTABLE_CLUSTER -> {
                for (long n = 1; ; n++) {
                    long m = n * g.blocksPerTableCluster();
                    long first = Math.min(fillsRange(g, m), m * perBlock - SweepGeometry.INITIAL_CLUSTERS);
                    if (m > perBlock || first > maxK) {
                        break;
                    }
                    TreeSet<Long> sizes = new TreeSet<>(around(g, fillsRange(g, m)));
                    if (m * perBlock - SweepGeometry.INITIAL_CLUSTERS <= maxK) {
                        sizes.addAll(around(g, m * perBlock - SweepGeometry.INITIAL_CLUSTERS));
                    }
                    out.add(new Boundary(kind, n, List.copyOf(sizes)));
                }
            }
            case LARGEST -> out.add(new Boundary(kind, maxK, sizes(g, g.maxSize() - g.clusterSize(), g.maxSize())));
        }
        return out;
    }

    /** L1 clusters at which the L1 table (from cluster 3) and the m-1 refcount blocks after it end at range m-1. */
    private static long fillsRange(SweepGeometry g, long m) {
        return m * g.refcountsPerBlock() - (m - 1) - SweepGeometry.INITIAL_CLUSTERS;
    }

    /** The thinned family: the first three, the powers of two, where the table needs a cluster more, the last. */
    private static boolean thinned(SweepGeometry g, long m, long maxK) {
        boolean last = (m + 1) * g.refcountsPerBlock() - SweepGeometry.INITIAL_CLUSTERS > maxK;
        return m <= 3 || Long.bitCount(m) == 1 || m % g.blocksPerTableCluster() == 0 || last;
    }

    /** Sizes where the L1 table has exactly k clusters, one cluster of guest space below, and one above (k+1). */
    private static List<Long> around(SweepGeometry g, long k) {
        long size = k * g.l1EntriesPerCluster() * g.l2Coverage();
        return sizes(g, size - g.clusterSize(), size, size + g.clusterSize());
    }

    private static List<Long> sizes(SweepGeometry g, long... candidates) {
        TreeSet<Long> out = new TreeSet<>();
        for (long s : candidates) {
            if (s >= 0 && s <= g.maxSize()) {
                out.add(s);
            }
        }
        return List.copyOf(out);
    }
}
