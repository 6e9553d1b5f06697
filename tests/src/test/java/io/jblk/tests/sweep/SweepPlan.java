package io.jblk.tests.sweep;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which cases the option-space sweep runs. Two plans, both deterministic:
 *
 * <ul>
 *   <li><b>default</b> (every {@code ./jblk-test}): for each of the 13 cluster sizes, each boundary family once, at
 *   its first member; the refcount width rotates through 1..64 with the cluster size and the family, and extended L2
 *   alternates (where legal), moving on to the next width when a family does not exist for a width (the L1 table
 *   never reaches a refcount block with wide blocks and large clusters) or when qemu-img would need more than the
 *   default budget for it. Every size of the boundary is created; one more operation, rotating through grow,
 *   convert and shrink, runs at its largest size.</li>
 *   <li><b>full</b> ({@code -Djblk.optionSweep=full}): all 147 geometries x every family x its thinned members (first
 *   three, powers of two, every refcount-table cluster, last; {@code -Djblk.optionSweep.every=true} takes every
 *   member) x every size x create / grow / shrink / convert.</li>
 * </ul>
 *
 * <p>In both, a case whose qemu-img run would exceed the {@link Budgets} (its allocator is quadratic in the refcount
 * blocks a run needs, its shrink writes an L2 table per L1 entry given up, its convert asks block status 512 GiB at
 * a time) runs jblk alone: time bound and qemu-img check, without the byte comparison.
 */
final class SweepPlan {
    /** What one case does; see {@link OptionSpaceSweepTest}. */
    enum Op { CREATE, GROW, SHRINK, CONVERT, TOO_LARGE }

    /**
     * One case.
     *
     * @param compare whether qemu-img runs the same operation for comparison (within its budget)
     */
    record Case(SweepGeometry geometry, Boundaries.Kind kind, long instance, Op op, long size, boolean compare) {
        @Override
        public String toString() {
            return op.name().toLowerCase() + " " + geometry + " " + kind.name().toLowerCase() + "#" + instance
                    + " size " + size + (compare ? "" : " (jblk only: over the qemu-img budget)");
        }
    }

    /**
     * qemu-img cost budget ({@link SweepGeometry#qemuCost}) of a compared case, both plans: about 8 s of qemu-img
     * for the largest. Above it the case runs jblk alone.
     */
    static final long DEFAULT_BUDGET = 2_500_000;
    static final long FULL_BUDGET = 2_500_000;

    /** How far qemu-img is asked to compare: the budgets above, or the full plan's overrides. */
    record Budgets(long cost, long shrinkEntries, long shrinkBytes, long convertSize) {
        static final Budgets DEFAULT = new Budgets(DEFAULT_BUDGET, DEFAULT_SHRINK_ENTRIES, DEFAULT_SHRINK_BYTES,
                DEFAULT_CONVERT_BUDGET);
        static final Budgets FULL = new Budgets(FULL_BUDGET, FULL_SHRINK_ENTRIES, FULL_SHRINK_BYTES,
                FULL_CONVERT_BUDGET);

        /** Whether qemu-img shrinking an image of {@code size} to one cluster stays within the budgets. */
        boolean shrinkAffordable(SweepGeometry g, long size) {
            long entries = g.l1Entries(size);
            return entries <= shrinkEntries && entries * g.clusterSize() <= shrinkBytes;
        }
    }
    /**
     * What qemu-img may be asked to give up in a compared shrink: it allocates (and writes) an L2 table for each L1
     * entry given up before freeing them all, so its cost is both per entry and per byte written (1,024 entries of
     * 2 MiB clusters are 2 GiB of L2 tables written and then freed). Measured with 512-byte clusters on 2 cores at
     * load average 22: 4,096 entries 35 s, 8,192 entries 39 s, 16,384 entries 89 s, 32,576 entries more than the
     * 300 s qemu-img is given in tests. Larger shrinks run jblk alone.
     */
    static final long DEFAULT_SHRINK_ENTRIES = 1024;
    static final long FULL_SHRINK_ENTRIES = 8192;
    static final long DEFAULT_SHRINK_BYTES = 64L << 20;
    static final long FULL_SHRINK_BYTES = 1L << 30;
    /**
     * Largest virtual size of a compared convert: qemu-img convert asks the block status of the source 512 GiB at a
     * time (288 PiB took it more than 5 minutes, 8 PiB 25 s); jblk's convert runs at every size.
     */
    static final long DEFAULT_CONVERT_BUDGET = 1L << 49;
    static final long FULL_CONVERT_BUDGET = 1L << 53;

    private SweepPlan() {
    }

    static List<Case> defaultPlan() {
        List<Case> out = new ArrayList<>();
        Boundaries.Kind[] kinds = Boundaries.Kind.values();
        int widths = SweepGeometry.REFCOUNT_WIDTHS.length;
        for (int bits = SweepGeometry.MIN_CLUSTER_BITS; bits <= SweepGeometry.MAX_CLUSTER_BITS; bits++) {
            for (int k = 0; k < kinds.length; k++) {
                boolean ext = bits >= SweepGeometry.MIN_EXTENDED_CLUSTER_BITS && (bits + k) % 2 == 1;
                for (int step = 0; step < widths; step++) {
                    int width = SweepGeometry.REFCOUNT_WIDTHS[(bits + k + step) % widths];
                    SweepGeometry g = new SweepGeometry(bits, ext, width);
                    List<Boundaries.Boundary> members = Boundaries.instances(g, kinds[k], false);
                    if (members.isEmpty() || g.qemuCost(members.getFirst().largestSize()) > Budgets.DEFAULT.cost()) {
                        continue;
                    }
                    Op[] rotation = {Op.GROW, Op.CONVERT, Op.SHRINK};
                    addBoundary(out, g, members.getFirst(), Budgets.DEFAULT, rotation[(bits + k) % rotation.length]);
                    break;
                }
            }
        }
        return out;
    }

    static List<Case> fullPlan(boolean every, Budgets budgets) {
        List<Case> out = new ArrayList<>();
        for (SweepGeometry g : SweepGeometry.all()) {
            for (Boundaries.Kind kind : Boundaries.Kind.values()) {
                for (Boundaries.Boundary b : Boundaries.instances(g, kind, every)) {
                    addBoundary(out, g, b, budgets, null);
                }
            }
        }
        return out;
    }

    /**
     * The cases of one boundary. Full plan: every size created, grown to, shrunk from and converted to. Default
     * plan: every size created (so every boundary is crossed by create, one cluster either side), and one other
     * operation at the boundary's largest size, rotating through grow, convert and shrink with the cluster size and
     * the family, so that each operation meets each family at some cluster sizes.
     */
    private static void addBoundary(List<Case> out, SweepGeometry g, Boundaries.Boundary b, Budgets budgets,
                                    Op rotated) {
        Set<Case> cases = new LinkedHashSet<>();
        for (long size : b.sizes()) {
            boolean compare = g.qemuCost(size) <= budgets.cost();
            cases.add(new Case(g, b.kind(), b.instance(), Op.CREATE, size, compare));
            for (Op op : new Op[] {Op.GROW, Op.SHRINK, Op.CONVERT}) {
                if ((rotated != null && (op != rotated || size != b.largestSize()))
                        || (op != Op.CONVERT && size <= base(g)) || size == 0) {
                    continue;
                }
                // qemu-img's shrink allocates an L2 table for every L1 entry it gives up before freeing them all
                // and its convert asks the source's block status per 512 GiB (an L2 table of 2 MiB clusters)
                boolean opCompare = compare && (op != Op.SHRINK || budgets.shrinkAffordable(g, size))
                        && (op != Op.CONVERT || size <= budgets.convertSize());
                cases.add(new Case(g, b.kind(), b.instance(), op, size, opCompare));
            }
        }
        if (b.kind() == Boundaries.Kind.LARGEST) {
            cases.add(new Case(g, b.kind(), b.instance(), Op.TOO_LARGE, g.maxSize() + 512, true));
        }
        out.addAll(cases);
    }

    /** "N cases (M compared with qemu-img): create a, grow b, ...", for the log and the plan listing. */
    static String summary(List<Case> plan) {
        java.util.Map<Op, Long> perOp = new java.util.EnumMap<>(Op.class);
        for (Case c : plan) {
            perOp.merge(c.op(), 1L, Long::sum);
        }
        long compared = plan.stream().filter(Case::compare).count();
        StringBuilder b = new StringBuilder(plan.size() + " cases (" + compared + " compared with qemu-img):");
        perOp.forEach((op, n) -> b.append(' ').append(op.name().toLowerCase()).append(' ').append(n).append(','));
        b.setLength(b.length() - (perOp.isEmpty() ? 0 : 1));
        return b.toString();
    }

    /** The size images are grown from and shrunk to: one cluster (an L1 table of one entry). */
    static long base(SweepGeometry g) {
        return g.clusterSize();
    }
}
