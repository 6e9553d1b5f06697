package io.jblk.qcow2.meta;

import io.jblk.api.CorruptImageException;
import io.jblk.nativeio.Await;
import io.jblk.nativeio.HostFile;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.RefcountArea;
import io.jblk.qcow2.format.RefcountBlockLayout;
import io.jblk.qcow2.format.TableLayout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Cluster refcounts: the refcount table (kept in memory), the refcount blocks (cached), and the lowest-free-first
 * allocator QEMU uses, so the same requests give the same host offsets.
 *
 * <p>Invariant kept on disk at every moment: a refcount block is written and synced before the table entry that
 * points to it, and a new table is synced before the header switches to it. Increments to cached blocks reach disk
 * in the image's ordered flush, before any L2 entry that depends on them. Guarded by the image's metadata lock.
 */
public final class Refcounts {
    private final HostFile file;
    private final RefcountBlockLayout layout;
    private final int clusterBits;
    private final MetadataCache blocks;
    private final HeaderWriter header;
    private final MetadataClusters metadata;
    private long[] table;
    private long tableOffset;
    private int tableClusters;
    private long freeHint;
    private java.util.function.LongPredicate referenced = c -> false;

    public Refcounts(HostFile file, RefcountBlockLayout layout, long[] table, long tableOffset, int tableClusters,
                     MetadataCache blocks, HeaderWriter header, MetadataClusters metadata) {
        this.file = file;
        this.layout = layout;
        this.clusterBits = layout.clusterBits();
        this.table = table;
        this.tableOffset = tableOffset;
        this.tableClusters = tableClusters;
        this.blocks = blocks;
        this.header = header;
        this.metadata = metadata;
    }

    /**
     * While repairing, tells where new refcount blocks must not go: clusters that metadata references although
     * their refcount says free.
     */
    public void avoidWhileRepairing(java.util.function.LongPredicate referencedClusters) {
        this.referenced = referencedClusters == null ? c -> false : referencedClusters;
    }

    public RefcountBlockLayout layout() {
        return layout;
    }

    public MetadataCache blocks() {
        return blocks;
    }

    public long tableOffset() {
        return tableOffset;
    }

    public int tableClusters() {
        return tableClusters;
    }

    /** Entries of the refcount table held in memory (block offsets, 0 = none). */
    public int tableLength() {
        return table.length;
    }

    /** Refcount table entry {@code t} ({@code < tableLength()}). */
    public long tableEntry(int t) {
        return table[t];
    }

    /** Number of clusters the current table can describe. */
    public long coveredClusters() {
        return table.length * layout.entriesPerBlock();
    }

    public long get(long cluster) throws IOException {
        long t = cluster / layout.entriesPerBlock();
        if (t >= table.length || table[t(t)] == 0) {
            return 0;
        }
        return layout.get(blocks.get(blockOffset(t)), (int) (cluster % layout.entriesPerBlock()));
    }

    /**
     * Adds {@code delta} to a cluster's refcount, creating its refcount block if needed (and the refcount table
     * growth that may take). Returns the new value.
     */
    public long add(long cluster, long delta) throws IOException {
        long t = cluster / layout.entriesPerBlock();
        if (t >= table.length || table[t(t)] == 0) {
            if (delta < 0) {
                throw new CorruptImageException("refcount of cluster " + cluster + " (0x"
                        + Long.toHexString(cluster << clusterBits) + ") would drop below 0: it has no refcount block");
            }
            while (!describe(cluster)) {
                // The table grew; the block for the cluster's range is created against the new table.
            }
        }
        return addDescribed(cluster, delta);
    }

    /** {@link #add} for a cluster whose refcount block exists. */
    private long addDescribed(long cluster, long delta) throws IOException {
        long offset = blockOffset(cluster / layout.entriesPerBlock());
        byte[] block = blocks.get(offset);
        int index = (int) (cluster % layout.entriesPerBlock());
        long value = layout.get(block, index) + delta;
        if (value < 0) {
            throw new CorruptImageException("refcount of cluster " + cluster + " (0x"
                    + Long.toHexString(cluster << clusterBits) + ") would drop below 0");
        }
        if (value > layout.maxRefcount()) {
            throw new CorruptImageException("refcount of cluster " + cluster + " would exceed "
                    + layout.maxRefcount() + " (" + layout.bits() + "-bit refcounts)");
        }
        layout.set(block, index, value);
        blocks.markDirty(offset);
        if (value == 0 && cluster < freeHint) {
            freeHint = cluster;
        }
        return value;
    }

    /**
     * Allocates {@code count} contiguous clusters, the lowest free run at or after the free hint, and sets their
     * refcounts to 1. Returns the host offset of the first.
     *
     * <p>This is QEMU's allocation order, so that the same requests give the same host offsets: the hint moves past
     * every run handed out and back down only when a refcount drops to zero; a refcount block the run needs is
     * placed at the next free cluster after the run (see {@link #describe}). When counting the run makes the
     * refcount table grow, the new structures go past everything described so far (possibly over clusters the run
     * wanted) and the old table is freed, so the increments made so far are undone and the search starts again.
     */
    public long allocate(int count) throws IOException {
        while (true) {
            long start = findFree(count, -1);
            if (countRun(start, count)) {
                return start << clusterBits;
            }
        }
    }

    /**
     * The first run of {@code count} free clusters at or after the hint (clusters nothing describes are free), never
     * over {@code avoid} nor, while repairing, over a cluster metadata references; the hint moves past it.
     */
    private long findFree(long count, long avoid) throws IOException {
        long start = freeHint;
        long run = 0;
        while (run < count) {
            long c = start + run;
            if (c == avoid || get(c) != 0 || referenced.test(c)) {
                start = c + 1;
                run = 0;
            } else {
                run++;
            }
        }
        freeHint = start + count;
        return start;
    }

    /** Sets the refcounts of a free run to 1; false (nothing changed) if the refcount table had to grow first. */
    private boolean countRun(long start, int count) throws IOException {
        for (int i = 0; i < count; i++) {
            if (!describe(start + i)) {
                for (int j = i - 1; j >= 0; j--) {
                    addDescribed(start + j, -1);
                }
                return false;
            }
            addDescribed(start + i, 1);
        }
        return true;
    }

    /**
     * Makes sure a refcount block describes {@code cluster}. A missing block goes to the next free cluster after the
     * hint. If that cluster lies in the range the block describes, the block counts itself; otherwise another block
     * counts it, and that one may have to be created first (the recursion ends at a block that counts itself, at
     * most two levels down). If the refcount table has no entry for the block, the table grows ({@link #growTable})
     * and false is returned: the caller starts over, and a block found but not yet linked stays free.
     */
    private boolean describe(long cluster) throws IOException {
        long perBlock = layout.entriesPerBlock();
        long t = cluster / perBlock;
        if (t < table.length && table[t(t)] != 0) {
            return true;
        }
        long blockCluster = findFree(1, cluster);
        byte[] block = new byte[1 << clusterBits];
        if (blockCluster / perBlock == t) {
            layout.set(block, (int) (blockCluster % perBlock), 1);
        } else {
            if (!describe(blockCluster)) {
                return false;
            }
            addDescribed(blockCluster, 1);
        }
        long blockOffset = blockCluster << clusterBits;
        metadata.checkWrite(blockOffset, block.length, "new refcount block");
        if (t >= table.length) {
            growTable(cluster, t, blockCluster, block);
            return false;
        }
        // The block, and the count of its cluster if another block holds it, are durable before the table entry
        // that makes the block live.
        blocks.writeBack();
        file.writeBlocking(blockOffset, MemorySegment.ofArray(block));
        file.flushBlocking();
        writeTableEntry(t, blockOffset);
        blocks.discard(blockOffset);
        metadata.add(blockCluster, 1, MetadataClusters.Kind.REFCOUNT_BLOCK);
        return true;
    }

    /** Repair: rewrites refcount table entry {@code t} on disk (an entry without a block, cleared), durably. */
    public void setTableEntry(int t, long value) throws IOException {
        writeTableEntry(t, value);
        file.flushBlocking();
    }

    private void writeTableEntry(long t, long blockOffset) throws IOException {
        byte[] word = new byte[8];
        TableLayout.setWord(word, 0, blockOffset);
        file.writeBlocking(tableOffset + t * 8, MemorySegment.ofArray(word));
        table[t(t)] = blockOffset; // only once on disk: a failed write must not leave a block only memory knows
    }

    /**
     * Grows the refcount table so that entry {@code t} can point to the new block at {@code blockCluster} (which
     * counts itself or is counted already). The new table goes into a new area at the start of the first range past
     * both {@code cluster} and the block, after the refcount blocks that area needs; its size is the fixed point of
     * {@link RefcountArea}. Blocks and table are written and synced, then the header switches to the new table, and
     * only then is the old table freed (its clusters become free, and the hint moves down to them).
     */
    private void growTable(long cluster, long t, long blockCluster, byte[] block) throws IOException {
        long perBlock = layout.entriesPerBlock();
        long areaStart = (Math.max(cluster, blockCluster) / perBlock + 1) * perBlock;
        RefcountArea area;
        long areaBlocks;
        long areaEnd;
        while (true) {
            area = RefcountArea.covering(areaStart, layout);
            areaBlocks = area.blocks() - areaStart / perBlock;
            areaEnd = areaStart + areaBlocks + area.tableClusters(clusterBits);
            if (!referencedIn(areaStart, areaEnd)) {
                break;
            }
            areaStart += perBlock; // repairing: never over a cluster something references
        }
        long tableClustersNew = area.tableClusters(clusterBits);
        if (tableClustersNew << clusterBits > Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
            throw new IOException("refcount table would grow beyond " + Qcow2Header.MAX_REFCOUNT_TABLE_BYTES
                    + " bytes: image too large");
        }
        if (area.blocks() * perBlock < areaEnd) {
            throw new IllegalStateException("refcount area at cluster " + areaStart + " does not cover itself");
        }
        long[] newTable = java.util.Arrays.copyOf(table, (int) area.tableEntries());
        newTable[t(t)] = blockCluster << clusterBits;
        long firstAreaIndex = areaStart / perBlock;
        for (long i = 0; i < areaBlocks; i++) {
            long index = firstAreaIndex + i;
            long rangeStart = index * perBlock;
            byte[] areaBlock = new byte[1 << clusterBits];
            for (long c = Math.max(areaStart, rangeStart); c < Math.min(areaEnd, rangeStart + perBlock); c++) {
                layout.set(areaBlock, (int) (c - rangeStart), 1);
            }
            long offset = (areaStart + i) << clusterBits;
            newTable[t(index)] = offset;
            metadata.checkWrite(offset, areaBlock.length, "new refcount block");
            file.writeBlocking(offset, MemorySegment.ofArray(areaBlock));
            blocks.discard(offset);
        }
        long newTableOffset = (areaStart + areaBlocks) << clusterBits;
        byte[] tableBytes = TableLayout.bytes(newTable);
        metadata.checkWrite(newTableOffset, tableBytes.length, "new refcount table");
        file.writeBlocking(newTableOffset, MemorySegment.ofArray(tableBytes));
        long blockOffset = blockCluster << clusterBits;
        file.writeBlocking(blockOffset, MemorySegment.ofArray(block));
        blocks.discard(blockOffset);
        blocks.writeBack(); // the count of the new block, if another block holds it
        file.flushBlocking();
        header.switchRefcountTable(newTableOffset, (int) tableClustersNew);
        long oldOffset = tableOffset;
        int oldClusters = tableClusters;
        table = newTable;
        tableOffset = newTableOffset;
        tableClusters = (int) tableClustersNew;
        metadata.add(blockCluster, 1, MetadataClusters.Kind.REFCOUNT_BLOCK);
        metadata.add(areaStart, areaBlocks, MetadataClusters.Kind.REFCOUNT_BLOCK);
        metadata.remove(oldOffset >>> clusterBits, oldClusters);
        metadata.add(newTableOffset >>> clusterBits, tableClustersNew, MetadataClusters.Kind.REFCOUNT_TABLE);
        // Like QEMU, the old table's bytes stay where they were (nothing points to them once the header switched).
        for (int i = 0; i < oldClusters; i++) {
            addDescribed((oldOffset >>> clusterBits) + i, -1);
        }
    }

    /**
     * Unlinks every refcount block that counts nothing but (possibly) itself, as after a shrink: the table with
     * those entries cleared is written and synced first, then the blocks' clusters are released (a block counted by
     * another block loses that count; a block that counted itself just stops existing). Returns the clusters freed.
     */
    public java.util.List<Long> dropUnusedBlocks() throws IOException {
        long perBlock = layout.entriesPerBlock();
        java.util.List<Long> dropped = new java.util.ArrayList<>();
        long[] kept = table.clone();
        for (int t = 0; t < table.length; t++) {
            if (table[t] == 0) {
                continue;
            }
            long blockCluster = blockOffset(t) >>> clusterBits;
            byte[] block = blocks.get(blockCluster << clusterBits);
            boolean unused = true;
            for (int i = 0; i < perBlock && unused; i++) {
                long c = t * perBlock + i;
                unused = layout.get(block, i) == 0 || c == blockCluster;
            }
            if (unused) {
                kept[t] = 0;
                dropped.add(blockCluster);
            }
        }
        if (dropped.isEmpty()) {
            return dropped;
        }
        file.writeBlocking(tableOffset, MemorySegment.ofArray(TableLayout.bytes(kept)));
        file.flushBlocking();
        table = kept;
        for (long blockCluster : dropped) {
            long offset = blockCluster << clusterBits;
            blocks.discard(offset);
            long home = blockCluster / perBlock;
            if (table[t(home)] != 0) {
                addDescribed(blockCluster, -1); // counted by a block that stays
            } else if (blockCluster < freeHint) {
                freeHint = blockCluster; // it counted itself: with its entry gone it is free
            }
        }
        return dropped;
    }

    /** The highest cluster below {@code fileClusters} whose refcount is not zero (0 for the header at least). */
    public long lastInUse(long fileClusters) throws IOException {
        long perBlock = layout.entriesPerBlock();
        for (long c = fileClusters - 1; c > 0; c--) {
            long t = c / perBlock;
            if (t >= table.length || table[t(t)] == 0) {
                c = t * perBlock; // nothing counted in this range: skip to the range before (the loop steps down)
                continue;
            }
            if (get(c) != 0) {
                return c;
            }
        }
        return 0;
    }

    private boolean referencedIn(long start, long end) {
        for (long c = start; c < end; c++) {
            if (referenced.test(c)) {
                return true;
            }
        }
        return false;
    }

    private long blockOffset(long t) throws CorruptImageException {
        long entry = table[t(t)];
        long offset = entry & TableLayout.REFTABLE_OFFSET_MASK;
        if ((offset & ((1L << clusterBits) - 1)) != 0 || (entry & TableLayout.REFTABLE_RESERVED_MASK) != 0) {
            throw new CorruptImageException("refcount table entry " + t + " is 0x" + Long.toHexString(entry)
                    + ", expected a cluster-aligned refcount block offset");
        }
        return offset;
    }

    private static int t(long t) {
        return (int) t;
    }

    /** Writes dirty refcount blocks (no sync). */
    public void writeBack() throws IOException {
        blocks.writeBack();
    }
}
