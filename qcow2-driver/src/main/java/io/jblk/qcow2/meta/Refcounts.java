package io.jblk.qcow2.meta;

import io.jblk.api.CorruptImageException;
import io.jblk.nativeio.Await;
import io.jblk.nativeio.HostFile;
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

    /** Adds {@code delta} to a cluster's refcount, creating its refcount block if needed. Returns the new value. */
    public long add(long cluster, long delta) throws IOException {
        long t = cluster / layout.entriesPerBlock();
        if (t >= table.length || table[t(t)] == 0) {
            if (delta < 0) {
                throw new CorruptImageException("refcount of cluster " + cluster + " (0x"
                        + Long.toHexString(cluster << clusterBits) + ") would drop below 0: it has no refcount block");
            }
            // The block may not take the cluster being counted, nor one that something references (repair).
            long candidate = t * layout.entriesPerBlock();
            while (candidate == cluster || referenced.test(candidate)) {
                candidate++;
            }
            createBlock(t, candidate);
        }
        long offset = blockOffset(t);
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
     * Allocates {@code count} contiguous clusters, the lowest free run first, and sets their refcounts to 1.
     * Returns the host offset of the first.
     */
    public long allocate(int count) throws IOException {
        long start = freeHint;
        while (true) {
            int run = 0;
            while (run < count) {
                if (get(start + run) != 0) {
                    start = start + run + 1;
                    run = 0;
                } else {
                    run++;
                }
            }
            if (ensureBlocks(start, count)) {
                continue; // a new refcount block took a cluster of the run; search again from the same place
            }
            for (int i = 0; i < count; i++) {
                add(start + i, 1);
            }
            // Every cluster from the hint up to the run is in use, except (for runs longer than one) free clusters in
            // gaps too short for the run; the hint may only skip past those when none can exist.
            if (count == 1 || start == freeHint) {
                freeHint = start + count;
            }
            return start << clusterBits;
        }
    }

    /** Creates missing refcount blocks for a cluster range; true if any was created (inside the range or not). */
    private boolean ensureBlocks(long start, int count) throws IOException {
        boolean created = false;
        long first = start / layout.entriesPerBlock();
        long last = (start + count - 1) / layout.entriesPerBlock();
        for (long t = first; t <= last; t++) {
            if (t >= table.length || table[t(t)] == 0) {
                createBlock(t, Math.max(start, t * layout.entriesPerBlock()));
                created = true;
            }
        }
        return created;
    }

    /**
     * Creates refcount block {@code t}. Like QEMU, the block goes to the lowest free cluster of its own range, so
     * it describes itself; {@code candidate} is that cluster (free because nothing describes it yet).
     */
    private void createBlock(long t, long candidate) throws IOException {
        if (t >= table.length) {
            growTable(t);
            if (table[t(t)] != 0) {
                return; // growing placed a block for this range already
            }
        }
        long blockCluster = candidate;
        long blockOffset = blockCluster << clusterBits;
        byte[] block = new byte[1 << clusterBits];
        layout.set(block, (int) (blockCluster % layout.entriesPerBlock()), 1);
        metadata.checkWrite(blockOffset, block.length, "new refcount block");
        file.writeBlocking(blockOffset, MemorySegment.ofArray(block));
        file.flushBlocking();
        // The block is durable before the table entry that makes it live.
        writeTableEntry(t, blockOffset);
        blocks.discard(blockOffset);
        metadata.add(blockCluster, 1, MetadataClusters.Kind.REFCOUNT_BLOCK);
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
     * Grows the refcount table so that it has entry {@code needed}. The new table and the refcount blocks that
     * describe it are placed at the start of the first range nothing describes yet, written and synced, and only
     * then does the header switch to them; the old table is freed afterwards.
     */
    private void growTable(long needed) throws IOException {
        long perBlock = layout.entriesPerBlock();
        int entriesPerCluster = (1 << clusterBits) / 8;
        long newEntries = Math.max(needed + 1, table.length + Math.max(1, table.length / 2));
        int blockCount = 1;
        int newClusters;
        while (true) {
            newEntries = Math.max(newEntries, needed + blockCount);
            newClusters = (int) ((newEntries + entriesPerCluster - 1) / entriesPerCluster);
            newEntries = (long) newClusters * entriesPerCluster;
            if ((long) blockCount * perBlock >= blockCount + newClusters) {
                break;
            }
            blockCount++;
        }
        if ((long) newClusters << clusterBits > io.jblk.qcow2.format.Qcow2Header.MAX_REFCOUNT_TABLE_BYTES) {
            throw new IOException("refcount table would grow beyond "
                    + io.jblk.qcow2.format.Qcow2Header.MAX_REFCOUNT_TABLE_BYTES + " bytes: image too large");
        }
        long areaStart = needed * perBlock; // first cluster of the first range nothing describes
        long[] newTable = new long[(int) newEntries];
        System.arraycopy(table, 0, newTable, 0, table.length);
        for (int i = 0; i < blockCount; i++) {
            byte[] block = new byte[1 << clusterBits];
            long rangeStart = (needed + i) * perBlock;
            for (long c = areaStart; c < areaStart + blockCount + newClusters; c++) {
                if (c >= rangeStart && c < rangeStart + perBlock) {
                    layout.set(block, (int) (c - rangeStart), 1);
                }
            }
            long blockOffset = (areaStart + i) << clusterBits;
            newTable[(int) (needed + i)] = blockOffset;
            metadata.checkWrite(blockOffset, block.length, "new refcount block");
            file.writeBlocking(blockOffset, MemorySegment.ofArray(block));
            blocks.discard(blockOffset);
        }
        long newTableOffset = (areaStart + blockCount) << clusterBits;
        byte[] tableBytes = new byte[newClusters << clusterBits];
        for (int i = 0; i < newTable.length; i++) {
            TableLayout.setWord(tableBytes, i, newTable[i]);
        }
        metadata.checkWrite(newTableOffset, tableBytes.length, "new refcount table");
        file.writeBlocking(newTableOffset, MemorySegment.ofArray(tableBytes));
        file.flushBlocking();
        header.switchRefcountTable(newTableOffset, newClusters);
        long oldOffset = tableOffset;
        int oldClusters = tableClusters;
        table = newTable;
        tableOffset = newTableOffset;
        tableClusters = newClusters;
        metadata.add(areaStart, blockCount, MetadataClusters.Kind.REFCOUNT_BLOCK);
        metadata.remove(oldOffset >>> clusterBits, oldClusters);
        metadata.add(newTableOffset >>> clusterBits, newClusters, MetadataClusters.Kind.REFCOUNT_TABLE);
        for (int i = 0; i < oldClusters; i++) {
            add((oldOffset >>> clusterBits) + i, -1);
        }
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
