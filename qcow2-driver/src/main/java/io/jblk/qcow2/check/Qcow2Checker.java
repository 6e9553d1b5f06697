package io.jblk.qcow2.check;

import io.jblk.api.CheckResult;
import io.jblk.api.ImageChecker.Repair;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.Snapshot;
import io.jblk.qcow2.format.TableLayout;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.qcow2.meta.Refcounts;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code qemu-img check} for qcow2: walks every structure (header, L1/L2 tables active and of snapshots, refcount
 * table and blocks, snapshot table), counts references per host cluster, and compares them with the refcounts and
 * the COPIED flags; reports QEMU's categories with QEMU's wording, and repairs leaks and corruptions on request.
 *
 * <p>Cost follows the file, never the header's claims: references are counted only for clusters inside the file (a
 * table or entry beyond its end is reported as a corruption, as QEMU does, instead of being counted), tables are
 * read one cluster at a time and only as far as the file goes, an L2 table named twice by one L1 table is walked
 * once, and an L1 table lying over another one is reported instead of walked.
 *
 * <p>Repair order keeps the image consistent at every step: refcount increases are made durable first, then L2/L1
 * fixes, then decreases. Unlike QEMU 7.2, an L1 or L2 entry pointing beyond the end of the file (or an L1 entry
 * whose table would be the header) is repaired by emptying it, which keeps what the guest reads (beyond the end
 * everything reads as zeros), instead of allocating over that offset. A referenced cluster whose refcount is 0 can
 * only be fixed by {@code -r all}: with {@code -r leaks} the check fails, as QEMU's does ("need to rebuild refcount
 * structures"). Runs with the image lock held and the metadata flushed.
 */
public final class Qcow2Checker {
    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final int clusterBits;
    private final boolean externalData;
    private final Messages messages = new Messages();
    private final ClusterRanges l1Tables = new ClusterRanges();
    private ReferenceCounts references;
    /** One L2 table at a time, read into the same buffer. */
    private byte[] l2;
    private long fileSize;
    private long fileClusters;
    private long corruptions;
    private long corruptionsFixed;
    private long allocatedClusters;
    private long fragmentedClusters;
    private long compressedClusters;
    private long checkErrors;

    public Qcow2Checker(Qcow2Image image) {
        this.image = image;
        this.geometry = image.geometry();
        this.clusterBits = geometry.clusterBits();
        this.externalData = image.hasExternalData();
    }

    public CheckResult check(Repair repair) throws IOException {
        boolean fixLeaks = repair != Repair.NONE;
        boolean fixAll = repair == Repair.ALL;
        image.flush();
        fileSize = image.file().size();
        fileClusters = (fileSize + geometry.clusterSize() - 1) >>> clusterBits;
        references = new ReferenceCounts(fileClusters);
        l2 = new byte[geometry.clusterSize()];
        Qcow2Header header = image.header();
        reference(0, 1, "header");
        walkTable(header.l1TableOffset(), header.l1Size(), "active L1 table", true, fixAll);
        Refcounts refcounts = image.refcounts();
        reference(refcounts.tableOffset() >>> clusterBits, refcounts.tableClusters(), "refcount table");
        for (int t = 0; t < refcounts.tableLength(); t++) {
            long entry = refcounts.tableEntry(t);
            long block = entry & TableLayout.REFTABLE_OFFSET_MASK;
            if ((entry & TableLayout.REFTABLE_RESERVED_MASK) != 0) {
                // Like QEMU: the block such an entry names is not counted (it shows as leaked).
                boolean fixable = fixAll && block == 0;
                error((fixable ? "Repairing" : "ERROR") + " refcount table entry " + t + " has reserved bits set");
                if (fixable) {
                    refcounts.setTableEntry(t, 0);
                    corruptionsFixed++;
                }
                continue;
            }
            if (block == 0) {
                continue;
            }
            if ((block & (geometry.clusterSize() - 1)) != 0) {
                error("ERROR refcount block " + t + " is not cluster aligned; refcount table entry corrupted");
                continue;
            }
            reference(block >>> clusterBits, 1, "refcount block " + t);
        }
        if (header.nbSnapshots() > 0) {
            reference(header.snapshotsOffset() >>> clusterBits, 1, "snapshot table");
            List<Snapshot> snapshots = image.snapshots();
            for (int i = 0; i < snapshots.size(); i++) {
                Snapshot s = snapshots.get(i);
                if (s.isIncomplete(header.version())) {
                    error("ERROR snapshot table entry " + i + " is incomplete");
                }
                walkTable(s.l1TableOffset(), s.l1Size(), "snapshot " + s.id() + " L1 table", false, false);
            }
        } else if (header.snapshotsOffset() < 0 || (header.snapshotsOffset() & (geometry.clusterSize() - 1)) != 0) {
            // QEMU validates the offset even when there are no snapshots, and fails the check (not the open).
            messages.failure("ERROR snapshot table offset invalid");
            return failed(header);
        }

        // Compare references with refcounts, cluster by cluster of the file.
        long leaks = 0;
        long leaksFixed = 0;
        boolean needsRebuild = false;
        Mismatches increase = new Mismatches();
        Mismatches decrease = new Mismatches();
        long highestInUse = references.highest();
        for (long c = 0; c < fileClusters; c++) {
            long rc = refcounts.get(c);
            long ref = references.get(c);
            if (rc > 0) {
                highestInUse = Math.max(highestInUse, c);
            }
            if (rc == ref) {
                continue;
            }
            if (rc > ref) {
                leaks++;
                messages.add((fixLeaks ? "Repairing" : "Leaked") + " cluster " + c + " refcount=" + rc + " reference=" + ref);
                if (fixLeaks) {
                    decrease.add(c, rc - ref);
                }
            } else {
                corruptions++;
                needsRebuild |= rc == 0;
                messages.add((fixAll ? "Repairing" : "ERROR") + " cluster " + c + " refcount=" + rc + " reference=" + ref);
                if (fixAll) {
                    increase.add(c, ref - rc);
                }
            }
        }
        long totalClusters = (header.size() + geometry.clusterSize() - 1) >>> clusterBits;
        if (repair == Repair.LEAKS && needsRebuild) {
            // Like QEMU: a referenced cluster with refcount 0 means the refcounts cannot be trusted for freeing.
            messages.failure("ERROR need to rebuild refcount structures");
            return failed(header);
        }
        checkCopiedFlags(increase, fixAll);
        if (fixAll || fixLeaks) {
            refcounts.avoidWhileRepairing(c -> references.get(c) > 0);
            try {
                for (int i = 0; i < increase.size(); i++) {
                    refcounts.add(increase.cluster(i), increase.delta(i));
                    corruptionsFixed++;
                }
                image.flush();
                for (int i = 0; i < decrease.size(); i++) {
                    refcounts.add(decrease.cluster(i), -decrease.delta(i));
                    leaksFixed++;
                }
                image.flush();
            } finally {
                refcounts.avoidWhileRepairing(null);
            }
        }
        long remainingCorruptions = corruptions - corruptionsFixed;
        long remainingLeaks = leaks - leaksFixed;
        if (repair != Repair.NONE && remainingCorruptions == 0) {
            image.markClean();
            if (remainingLeaks == 0) {
                image.clearCorrupt();
            }
        }
        return new CheckResult(remainingCorruptions, remainingLeaks, checkErrors, corruptionsFixed, leaksFixed,
                (highestInUse + 1) << clusterBits, totalClusters, allocatedClusters, fragmentedClusters,
                compressedClusters, messages.list());
    }

    /** A check that could not complete: what was found so far, and one check error (the last message says why). */
    private CheckResult failed(Qcow2Header header) {
        long totalClusters = (header.size() + geometry.clusterSize() - 1) >>> clusterBits;
        return new CheckResult(corruptions, 0, checkErrors + 1, corruptionsFixed, 0, 0, totalClusters,
                allocatedClusters, fragmentedClusters, compressedClusters, messages.list());
    }

    private void error(String message) {
        corruptions++;
        messages.add(message);
    }

    /**
     * Counts a reference to each cluster of a range that lies inside the file; a range reaching beyond the end is
     * reported once (its clusters there are not counted: nothing can be stored there). Returns whether the whole
     * range is inside the file.
     */
    private boolean reference(long first, long count, String what) {
        long end = Math.min(first + count, fileClusters);
        for (long c = first; c < end; c++) {
            references.add(c);
        }
        if (first + count > fileClusters) {
            error("ERROR " + what + " at offset 0x" + Long.toHexString(first << clusterBits)
                    + " is beyond the end of the image file");
            return false;
        }
        return true;
    }

    /** Walks one L1 table (active or a snapshot's) and the L2 tables it points to. */
    private void walkTable(long l1Offset, int l1Size, String what, boolean activeTable, boolean fixAll)
            throws IOException {
        long first = l1Offset >>> clusterBits;
        long l1Clusters = (l1Size * 8L + geometry.clusterSize() - 1) >>> clusterBits;
        if (l1Tables.overlaps(first, l1Clusters)) {
            // Corrupt whatever it holds; its entries would only repeat references already counted.
            error("ERROR " + what + " at offset 0x" + Long.toHexString(l1Offset) + " overlaps another L1 table");
            return;
        }
        l1Tables.add(first, l1Clusters);
        reference(first, l1Clusters, what);
        TableWindow l1 = new TableWindow(image.file(), l1Offset, l1Size, geometry.clusterSize(), fileSize);
        WalkedTables walked = new WalkedTables();
        for (int i = 0; i < l1.entriesInFile(); i++) {
            long l2Offset = validL2Offset(i, l1.word(i), activeTable && fixAll);
            if (l2Offset == 0) {
                continue;
            }
            if (!walked.add(l2Offset >>> clusterBits)) {
                // Named twice by the same table: corrupt (the refcount comparison reports it); walked once.
                references.add(l2Offset >>> clusterBits);
                continue;
            }
            references.add(l2Offset >>> clusterBits);
            image.file().readBlocking(l2Offset, MemorySegment.ofArray(l2));
            // Fragmentation is counted inside each L2 table, as QEMU counts it: the step from the last data cluster of
            // one table to the first of the next is not a fragment (a new L2 table sits between them whenever data
            // is written in order, so counting it would report 1/65 of a 512-byte-cluster image as fragmented).
            long previousHost = -1;
            for (int j = 0; j < geometry.l2Entries(); j++) {
                long guestCluster = (long) i * geometry.l2Entries() + j;
                L2Entry e = TableLayout.l2Entry(l2, j, geometry.extendedL2());
                previousHost = checkEntry(guestCluster, e, activeTable, fixAll, previousHost);
            }
        }
    }

    /**
     * The L2 table offset of L1 entry {@code i}, or 0 when it has none or cannot be walked (reported; with
     * {@code repair} an entry whose table cannot exist is emptied: everything it maps reads as unallocated anyway).
     */
    private long validL2Offset(int i, long l1Entry, boolean repair) throws IOException {
        long l2Offset = l1Entry & TableLayout.L1_OFFSET_MASK;
        if (l1Entry == 0) {
            return 0;
        }
        if ((l2Offset & (geometry.clusterSize() - 1)) != 0 || (l1Entry & TableLayout.L1_RESERVED_MASK) != 0) {
            error("ERROR l2_offset=" + Long.toHexString(l2Offset) + ": Table is not cluster aligned; L1 entry corrupted");
            return 0;
        }
        String problem = null;
        if (l2Offset == 0) {
            problem = "its L2 table would be the image header";
        } else if ((l2Offset >>> clusterBits) >= fileClusters) {
            problem = "its L2 table at offset 0x" + Long.toHexString(l2Offset) + " is beyond the end of the image file";
        }
        if (problem == null) {
            return l2Offset;
        }
        error((repair ? "Repairing" : "ERROR") + " L1 entry " + i + " (0x" + Long.toHexString(l1Entry) + "): "
                + problem + "; L1 entry corrupted");
        if (repair) {
            image.l2Tables().setL1Entry(i, 0);
            corruptionsFixed++;
        }
        return 0;
    }

    private long checkEntry(long guestCluster, L2Entry e, boolean activeTable, boolean fixAll, long previousHost)
            throws IOException {
        long guest = guestCluster << clusterBits;
        if (e.isCompressed()) {
            if (activeTable) {
                // Like QEMU, compressed clusters count as fragmented: neighbours share sectors, so reads repeat.
                allocatedClusters++;
                compressedClusters++;
                fragmentedClusters++;
            }
            if (externalData) {
                error("ERROR compressed cluster " + guestCluster + " in an image with an external data file");
                return previousHost;
            }
            if (e.isCopied()) {
                error("ERROR: coffset=0x" + Long.toHexString(e.word()) + ": Compressed cluster has COPIED flag set");
            }
            if (geometry.extendedL2() && e.bitmap() != 0) {
                error("ERROR compressed cluster " + guestCluster + " with non-zero subcluster allocation bitmap, entry="
                        + e);
                if (fixAll && activeTable) {
                    image.setEntry(guestCluster, e.withBitmap(0));
                    corruptionsFixed++;
                    // fall through: count its references now that it is valid
                } else {
                    return previousHost;
                }
            }
            CompressedDescriptor d = CompressedDescriptor.decode(e.word(), clusterBits);
            long first = d.firstHostCluster(clusterBits);
            reference(first, d.lastHostCluster(clusterBits) - first + 1, "compressed cluster");
            return previousHost;
        }
        if ((e.word() & L2Entry.RESERVED_MASK) != 0) {
            error("ERROR offset=" + Long.toHexString(e.hostOffset()) + ": L2 entry has reserved bits set: " + e);
        }
        boolean allocated = e.hasHostCluster(externalData);
        if (!allocated) {
            if (geometry.extendedL2() && e.allocationMask() != 0) {
                error("ERROR: Unallocated cluster has non-zero subcluster allocation map (guest offset 0x"
                        + Long.toHexString(guest) + ", entry " + e + ")");
                if (fixAll && activeTable) {
                    image.setEntry(guestCluster, e.unallocating(0, 31).withBitmap(e.bitmap() & L2Entry.ALL_ZERO));
                    corruptionsFixed++;
                }
            }
            return previousHost;
        }
        long host = e.hostOffset();
        if (activeTable) {
            allocatedClusters++;
            if (previousHost >= 0 && host != previousHost + geometry.clusterSize()) {
                fragmentedClusters++;
            }
        }
        if (geometry.extendedL2() && (e.allocationMask() & e.zeroMask()) != 0) {
            error("ERROR offset=" + Long.toHexString(host) + ": Allocated cluster has corrupted subcluster allocation bitmap");
        }
        if ((host & (geometry.clusterSize() - 1)) != 0) {
            error("ERROR offset=" + Long.toHexString(host) + ": Data cluster is not properly aligned; L2 entry corrupted");
            return host;
        }
        if (externalData) {
            return host;
        }
        long cluster = host >>> clusterBits;
        if (cluster >= fileClusters) {
            error("ERROR offset=" + Long.toHexString(host) + ": data cluster of guest offset 0x" + Long.toHexString(guest)
                    + " is beyond the end of the image file");
            if (fixAll && activeTable) {
                // It reads as zeros today (past EOF); keep that without allocating over the offset.
                L2Entry zeroed = geometry.extendedL2() ? new L2Entry(0, L2Entry.ALL_ZERO)
                        : new L2Entry(image.header().version() >= 3 ? L2Entry.ZERO_FLAG : 0, 0);
                image.setEntry(guestCluster, zeroed);
                corruptionsFixed++;
            }
            return host;
        }
        references.add(cluster);
        return host;
    }

    /**
     * QEMU's OFLAG_COPIED check, once every reference is counted: in the active tables an L2 table or data cluster
     * carries COPIED exactly when its refcount (after the increases this repair will make) is 1. Walks the active
     * table a second time, through the image's L2 cache so that fixes made by the first walk are seen.
     */
    private void checkCopiedFlags(Mismatches increase, boolean fixAll) throws IOException {
        if (externalData) {
            return;
        }
        Refcounts refcounts = image.refcounts();
        WalkedTables walked = new WalkedTables();
        long l1Entries = Math.min(image.l2Tables().l1Size(), image.header().l1Size());
        for (int i = 0; i < l1Entries; i++) {
            long l1Entry = image.l2Tables().l1Entry(i);
            long l2Offset = l1Entry & TableLayout.L1_OFFSET_MASK;
            if (l2Offset == 0 || (l2Offset & (geometry.clusterSize() - 1)) != 0
                    || (l1Entry & TableLayout.L1_RESERVED_MASK) != 0 || (l2Offset >>> clusterBits) >= fileClusters
                    || !walked.add(l2Offset >>> clusterBits)) {
                continue;
            }
            long tableCluster = l2Offset >>> clusterBits;
            long tableRefcount = refcounts.get(tableCluster) + increase.deltaOf(tableCluster);
            boolean tableCopied = (l1Entry & L2Entry.COPIED) != 0;
            if (tableCopied != (tableRefcount == 1)) {
                error((fixAll ? "Repairing" : "ERROR") + " OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry="
                        + Long.toHexString(l1Entry) + " refcount=" + tableRefcount);
                if (fixAll) {
                    image.l2Tables().setL1Entry(i, tableRefcount == 1 ? l1Entry | L2Entry.COPIED
                            : l1Entry & ~L2Entry.COPIED);
                    corruptionsFixed++;
                }
            }
            for (int j = 0; j < geometry.l2Entries(); j++) {
                long guestCluster = (long) i * geometry.l2Entries() + j;
                L2Entry e = image.entry(guestCluster);
                if (e.isCompressed() || !e.hasHostCluster(false) || (e.hostOffset() & (geometry.clusterSize() - 1)) != 0) {
                    continue;
                }
                long host = e.hostOffset() >>> clusterBits;
                long rc = refcounts.get(host) + increase.deltaOf(host);
                if (e.isCopied() != (rc == 1)) {
                    error((fixAll ? "Repairing" : "ERROR") + " OFLAG_COPIED data cluster: l2_entry="
                            + Long.toHexString(e.word()) + " refcount=" + rc);
                    if (fixAll) {
                        long word = rc == 1 ? e.word() | L2Entry.COPIED : e.word() & ~L2Entry.COPIED;
                        image.setEntry(guestCluster, e.withWord(word));
                        corruptionsFixed++;
                    }
                }
            }
        }
    }

    /**
     * The per-problem lines, at most {@link #KEPT} of them (the counts stay exact): a damaged table names a problem
     * per entry, and a file of millions of entries must not become millions of strings in memory.
     */
    private static final class Messages {
        static final int KEPT = 1000;
        private final List<String> kept = new ArrayList<>();
        private long dropped;
        private String reason;

        void add(String message) {
            if (kept.size() < KEPT) {
                kept.add(message);
            } else {
                dropped++;
            }
        }

        /** Why the check could not complete: always listed, last. */
        void failure(String message) {
            reason = message;
        }

        List<String> list() {
            List<String> all = new ArrayList<>(kept);
            if (dropped > 0) {
                all.add("(" + dropped + " more problems found; only the first " + KEPT + " are listed)");
            }
            if (reason != null) {
                all.add(reason);
            }
            return all;
        }
    }

    /** The L2 tables one L1 table has named so far: a bitmap over the file's clusters, in pages. */
    private static final class WalkedTables {
        private static final int PAGE_BITS = 18;
        private final java.util.Map<Long, long[]> pages = new java.util.HashMap<>();

        /** Adds a cluster; false if it was there already. */
        boolean add(long cluster) {
            long[] page = pages.computeIfAbsent(cluster >>> PAGE_BITS, p -> new long[(1 << PAGE_BITS) / 64]);
            int bit = (int) (cluster & ((1 << PAGE_BITS) - 1));
            long mask = 1L << (bit & 63);
            if ((page[bit >>> 6] & mask) != 0) {
                return false;
            }
            page[bit >>> 6] |= mask;
            return true;
        }
    }

    /** Refcount changes to make, in ascending cluster order (the comparison visits clusters in order). */
    private static final class Mismatches {
        private long[] clusters = new long[16];
        private long[] deltas = new long[16];
        private int size;

        void add(long cluster, long delta) {
            if (size == clusters.length) {
                clusters = Arrays.copyOf(clusters, size * 2);
                deltas = Arrays.copyOf(deltas, size * 2);
            }
            clusters[size] = cluster;
            deltas[size] = delta;
            size++;
        }

        int size() {
            return size;
        }

        long cluster(int i) {
            return clusters[i];
        }

        long delta(int i) {
            return deltas[i];
        }

        /** The change planned for {@code cluster}, 0 if none. */
        long deltaOf(long cluster) {
            int i = Arrays.binarySearch(clusters, 0, size, cluster);
            return i >= 0 ? deltas[i] : 0;
        }
    }
}
