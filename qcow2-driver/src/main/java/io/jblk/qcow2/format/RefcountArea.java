package io.jblk.qcow2.format;

/**
 * The size of a new set of refcount structures: how many refcount blocks it takes to count every cluster of the file
 * up to the end of the structures themselves, and how large the refcount table that points to them is.
 *
 * <p>The qcow2 format counts every host cluster, refcount blocks and the refcount table included, so the count is a
 * fixed point: the blocks must cover the clusters before them plus the blocks plus the table, which grows with the
 * blocks. It is found by iterating from zero until nothing changes (the function is monotonic, so the first fixed
 * point is the least one). Like QEMU, which grows the table through the same computation, room is then made for half
 * as many table clusters again, and the table gets half as many entries again as there are blocks, rounded up to whole
 * clusters, so that the next growth is far away.
 *
 * @param blocks        refcount blocks that together cover clusters {@code 0 .. blocks * entriesPerBlock - 1}
 * @param tableEntries  entries of the new refcount table (a whole number of clusters)
 */
public record RefcountArea(long blocks, long tableEntries) {

    /** The structures that count {@code clusters} clusters (the file before them) plus themselves, with headroom. */
    public static RefcountArea covering(long clusters, RefcountBlockLayout layout) {
        long perBlock = layout.entriesPerBlock();
        long perTableCluster = (1L << layout.clusterBits()) / 8;
        long[] fixed = fixedPoint(clusters, 0, 0, perBlock, perTableCluster);
        long headroom = Math.ceilDiv(fixed[1], 2);
        fixed = fixedPoint(clusters + headroom, fixed[0], fixed[1], perBlock, perTableCluster);
        long blocks = fixed[0];
        long entries = blocks + Math.ceilDiv(blocks, 2);
        entries = Math.ceilDiv(entries, perTableCluster) * perTableCluster;
        return new RefcountArea(blocks, entries);
    }

    /** {blocks, table clusters} counting {@code clusters} plus themselves, starting the iteration from a lower bound. */
    private static long[] fixedPoint(long clusters, long blocks, long table, long perBlock, long perTableCluster) {
        while (true) {
            long b = Math.ceilDiv(clusters + blocks + table, perBlock);
            long t = Math.ceilDiv(b, perTableCluster);
            if (b == blocks && t == table) {
                return new long[] {blocks, table};
            }
            blocks = b;
            table = t;
        }
    }

    /** Clusters the refcount table occupies. */
    public long tableClusters(int clusterBits) {
        return (tableEntries * 8) >>> clusterBits;
    }
}
