package io.jblk.qcow2.meta;

import io.jblk.api.CorruptImageException;
import io.jblk.nativeio.Await;
import io.jblk.nativeio.HostFile;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.TableLayout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * The active L1 table (in memory, written entry by entry) and the L2 tables it points to (through the slice cache).
 *
 * <p>On-disk order kept here: a new or copied L2 table is written and synced, with its refcount, before the L1
 * entry that makes it reachable; a shared L2 table's refcount drops only after the L1 entry pointing to its copy
 * is durable. Guarded by the image's metadata lock.
 */
public final class L2Tables {
    private final HostFile file;
    private final ClusterGeometry geometry;
    private final MetadataCache slices;
    private final Refcounts refcounts;
    private final MetadataClusters metadata;
    private final HeaderWriter header;
    private long[] l1;
    private long l1Offset;
    private final int entriesPerSlice;

    public L2Tables(HostFile file, ClusterGeometry geometry, long[] l1, long l1Offset, MetadataCache slices,
                    Refcounts refcounts, MetadataClusters metadata, HeaderWriter header) {
        this.header = header;
        this.file = file;
        this.geometry = geometry;
        this.l1 = l1;
        this.l1Offset = l1Offset;
        this.slices = slices;
        this.refcounts = refcounts;
        this.metadata = metadata;
        this.entriesPerSlice = slices.entryBytes() / geometry.l2EntrySize();
    }

    public MetadataCache slices() {
        return slices;
    }

    public int l1Size() {
        return l1.length;
    }

    public long l1Entry(int index) {
        return l1[index];
    }

    /** Host offset of the L2 table for L1 index {@code i}, 0 if none; validated. */
    public long l2Offset(int i) throws CorruptImageException {
        long entry = l1[i];
        long offset = entry & TableLayout.L1_OFFSET_MASK;
        if ((offset & (geometry.clusterSize() - 1)) != 0) {
            throw new CorruptImageException("L1 entry " + i + " (0x" + Long.toHexString(entry)
                    + ") points to an L2 table at 0x" + Long.toHexString(offset) + " which is not cluster-aligned");
        }
        return offset;
    }

    /** The L2 entry of guest cluster {@code cluster}; {@link L2Entry#UNALLOCATED} where no L2 table exists. */
    public L2Entry entry(long cluster) throws IOException {
        long guest = cluster << geometry.clusterBits();
        int i = geometry.l1Index(guest);
        if (i >= l1.length) {
            return L2Entry.UNALLOCATED;
        }
        long table = l2Offset(i);
        if (table == 0) {
            return L2Entry.UNALLOCATED;
        }
        int index = geometry.l2Index(guest);
        byte[] slice = slices.get(sliceOffset(table, index));
        return TableLayout.l2Entry(slice, index % entriesPerSlice, geometry.extendedL2());
    }

    /** Whether the L2 table holding {@code cluster}'s entry can be changed in place (exists and COPIED). */
    public boolean isTableWritable(long cluster) {
        int i = geometry.l1Index(cluster << geometry.clusterBits());
        return i < l1.length && (l1[i] & TableLayout.L1_OFFSET_MASK) != 0 && (l1[i] & L2Entry.COPIED) != 0;
    }

    /** Replaces the L2 entry of guest cluster {@code cluster}, first creating or un-sharing its L2 table. */
    public void setEntry(long cluster, L2Entry entry) throws IOException {
        long guest = cluster << geometry.clusterBits();
        int i = geometry.l1Index(guest);
        if (i >= l1.length) {
            throw new IllegalStateException("guest cluster " + cluster + " is beyond the L1 table (" + l1.length
                    + " entries)");
        }
        long table = writableTable(i);
        int index = geometry.l2Index(guest);
        long sliceOffset = sliceOffset(table, index);
        byte[] slice = slices.get(sliceOffset);
        TableLayout.setL2Entry(slice, index % entriesPerSlice, geometry.extendedL2(), entry);
        slices.markDirty(sliceOffset);
    }

    /**
     * Makes sure the L2 table for {@code cluster} exists and is ours, before a data cluster is allocated for it (QEMU
     * allocates the table first, so host offsets come out the same).
     */
    public void prepareTable(long cluster) throws IOException {
        int i = geometry.l1Index(cluster << geometry.clusterBits());
        if (i < l1.length) {
            writableTable(i);
        }
    }

    private long sliceOffset(long table, int index) {
        return table + (long) (index / entriesPerSlice) * slices.entryBytes();
    }

    private long writableTable(int i) throws IOException {
        long old = l2Offset(i);
        if (old != 0 && (l1[i] & L2Entry.COPIED) != 0) {
            return old;
        }
        byte[] content = new byte[geometry.clusterSize()];
        if (old != 0) {
            // A table shared with a snapshot: the copy starts with its entries (their clusters stay shared).
            for (int s = 0; s < content.length; s += slices.entryBytes()) {
                System.arraycopy(slices.get(old + s), 0, content, s, slices.entryBytes());
            }
        }
        long table = refcounts.allocate(1);
        metadata.checkWrite(table, content.length, "new L2 table");
        // Refcount first, then the table, both durable before the L1 entry refers to them.
        refcounts.writeBack();
        file.writeBlocking(table, MemorySegment.ofArray(content));
        file.flushBlocking();
        metadata.add(table >>> geometry.clusterBits(), 1, MetadataClusters.Kind.ACTIVE_L2);
        slices.discardRange(table, table + content.length);
        writeL1Entry(i, table | L2Entry.COPIED);
        if (old != 0) {
            // The old table's refcount may drop only once no durable L1 entry of ours points to it.
            file.flushBlocking();
            refcounts.add(old >>> geometry.clusterBits(), -1);
        }
        return table;
    }

    /**
     * Grows the L1 table to {@code entries} (resize): the new table is written and synced in newly allocated
     * clusters, then the header switches to it, then the old table's clusters are freed.
     */
    public void growL1(int entries) throws IOException {
        if (entries <= l1.length) {
            return;
        }
        int cs = geometry.clusterSize();
        int clusters = (int) (((long) entries * 8 + cs - 1) / cs);
        long offset = refcounts.allocate(clusters);
        long[] grown = java.util.Arrays.copyOf(l1, entries);
        // Only the table's own bytes; the rest of its last cluster stays a hole (QEMU writes the same, so a table at
        // the end of the file leaves both files the same length).
        byte[] bytes = new byte[entries * 8];
        for (int i = 0; i < grown.length; i++) {
            TableLayout.setWord(bytes, i, grown[i]);
        }
        metadata.checkWrite(offset, bytes.length, "new L1 table");
        refcounts.writeBack();
        file.writeBlocking(offset, MemorySegment.ofArray(bytes));
        file.flushBlocking();
        header.switchL1Table(entries, offset);
        long oldFirst = l1Offset >>> geometry.clusterBits();
        long oldClusters = ((long) l1.length * 8 + cs - 1) / cs;
        metadata.remove(oldFirst, oldClusters);
        metadata.add(offset >>> geometry.clusterBits(), clusters, MetadataClusters.Kind.ACTIVE_L1);
        long oldOffset = l1Offset;
        l1 = grown;
        l1Offset = offset;
        if (oldOffset != 0) {
            for (long c = 0; c < oldClusters; c++) {
                refcounts.add(oldFirst + c, -1);
            }
        }
    }

    /**
     * Shrink: unlinks the L2 tables that lie wholly at or beyond guest offset {@code newSize}; returns their host
     * clusters, to be released once the L1 change is durable. The caller has already emptied their entries.
     */
    public java.util.List<Long> unlinkTablesBeyond(long newSize) throws IOException {
        java.util.List<Long> freed = new java.util.ArrayList<>();
        long firstUnused = (newSize + geometry.l2Coverage() - 1) / geometry.l2Coverage();
        for (int i = (int) firstUnused; i < l1.length; i++) {
            long table = l2Offset(i);
            if (table != 0) {
                writeL1Entry(i, 0);
                slices.discardRange(table, table + geometry.clusterSize());
                metadata.remove(table >>> geometry.clusterBits(), 1);
                freed.add(table >>> geometry.clusterBits());
            }
        }
        file.flushBlocking();
        return freed;
    }

    /**
     * Repair: rewrites L1 entry {@code i} on disk (its COPIED flag set or cleared, or the entry emptied when its L2
     * table cannot exist), durably.
     */
    public void setL1Entry(int i, long value) throws IOException {
        writeL1Entry(i, value);
        file.flushBlocking();
    }

    private void writeL1Entry(int i, long value) throws IOException {
        byte[] word = new byte[8];
        TableLayout.setWord(word, 0, value);
        file.writeBlocking(l1Offset + 8L * i, MemorySegment.ofArray(word));
        l1[i] = value; // only once written: memory never points at a table the file does not
    }
}
