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
import io.jblk.nativeio.Await;
import io.jblk.qcow2.meta.Refcounts;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code qemu-img check} for qcow2: walks every structure (header, L1/L2 tables active and of snapshots, refcount
 * table and blocks, snapshot table), counts references per host cluster, and compares them with the refcounts and
 * the COPIED flags; reports QEMU's categories with QEMU's wording, and repairs leaks and corruptions on request.
 *
 * <p>Repair order keeps the image consistent at every step: refcount increases are made durable first, then L2/L1
 * fixes, then decreases. Unlike QEMU 7.2, an L2 entry pointing beyond the end of the file is repaired by turning its
 * subclusters into zero subclusters (what they read as) instead of allocating a cluster over that offset.
 * Runs with the image lock held and the metadata flushed.
 */
public final class Qcow2Checker {
    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final int clusterBits;
    private final boolean externalData;
    private final ReferenceCounts references = new ReferenceCounts();
    private final List<String> messages = new ArrayList<>();
    private long fileClusters;
    private long corruptions;
    private long corruptionsFixed;
    private long allocatedClusters;
    private long fragmentedClusters;
    private long compressedClusters;
    private long checkErrors;
    /** Active L2 entries to fix once refcounts are known (COPIED flags) or at once (invalid bitmaps). */
    private final List<ActiveEntry> active = new ArrayList<>();

    private record ActiveEntry(long guestCluster, L2Entry entry) {
    }

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
        fileClusters = (image.file().size() + geometry.clusterSize() - 1) >>> clusterBits;
        Qcow2Header header = image.header();
        reference(0, 1, "header");
        walkActive(fixAll);
        Refcounts refcounts = image.refcounts();
        reference(refcounts.tableOffset() >>> clusterBits, refcounts.tableClusters(), "refcount table");
        long[] table = refcounts.tableEntries();
        for (int t = 0; t < table.length; t++) {
            long block = table[t] & TableLayout.REFTABLE_OFFSET_MASK;
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
            for (Snapshot s : image.snapshots()) {
                walkTable(s.l1TableOffset(), s.l1Size(), false, false);
            }
        }

        // Compare references with refcounts.
        long last = Math.max(references.highest(), fileClusters - 1);
        long leaks = 0;
        long leaksFixed = 0;
        List<long[]> increase = new ArrayList<>();
        List<long[]> decrease = new ArrayList<>();
        long highestInUse = references.highest();
        for (long c = 0; c <= last; c++) {
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
                    decrease.add(new long[] {c, rc - ref});
                }
            } else {
                corruptions++;
                messages.add((fixAll ? "Repairing" : "ERROR") + " cluster " + c + " refcount=" + rc + " reference=" + ref);
                if (fixAll) {
                    increase.add(new long[] {c, ref - rc});
                }
            }
        }
        // COPIED flags of the active tables (QEMU: OFLAG_COPIED).
        if (!externalData) {
            for (ActiveEntry a : active) {
                L2Entry e = a.entry;
                if (e.isCompressed() || !e.hasHostCluster(false)) {
                    continue;
                }
                long host = e.hostOffset() >>> clusterBits;
                long rc = refcounts.get(host) + pending(increase, host);
                boolean copied = e.isCopied();
                if (copied != (rc == 1)) {
                    corruptions++;
                    messages.add((fixAll ? "Repairing" : "ERROR") + " OFLAG_COPIED data cluster: l2_entry="
                            + Long.toHexString(e.word()) + " refcount=" + rc);
                    if (fixAll) {
                        long word = rc == 1 ? e.word() | L2Entry.COPIED : e.word() & ~L2Entry.COPIED;
                        image.setEntry(a.guestCluster, e.withWord(word));
                        corruptionsFixed++;
                    }
                }
            }
        }
        if (fixAll || fixLeaks) {
            refcounts.avoidWhileRepairing(c -> references.get(c) > 0);
            try {
                for (long[] inc : increase) {
                    refcounts.add(inc[0], inc[1]);
                    corruptionsFixed++;
                }
                image.flush();
                for (long[] dec : decrease) {
                    refcounts.add(dec[0], -dec[1]);
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
        long totalClusters = (header.size() + geometry.clusterSize() - 1) >>> clusterBits;
        return new CheckResult(remainingCorruptions, remainingLeaks, checkErrors, corruptionsFixed, leaksFixed,
                (highestInUse + 1) << clusterBits, totalClusters, allocatedClusters, fragmentedClusters,
                compressedClusters, messages);
    }

    private static long pending(List<long[]> increases, long cluster) {
        long sum = 0;
        for (long[] inc : increases) {
            if (inc[0] == cluster) {
                sum += inc[1];
            }
        }
        return sum;
    }

    private void error(String message) {
        corruptions++;
        messages.add(message);
    }

    /** Counts a reference to each cluster of a range, flagging those beyond the end of the file. */
    private boolean reference(long first, long count, String what) {
        boolean inside = true;
        for (long c = first; c < first + count; c++) {
            if (c >= fileClusters) {
                inside = false;
            }
            references.add(c);
        }
        if (!inside) {
            error("ERROR " + what + " at offset 0x" + Long.toHexString(first << clusterBits)
                    + " is beyond the end of the image file");
        }
        return inside;
    }

    private void walkActive(boolean fixAll) throws IOException {
        Qcow2Header h = image.header();
        walkTable(h.l1TableOffset(), h.l1Size(), true, fixAll);
    }

    /** Walks one L1 table (active or a snapshot's) and the L2 tables it points to. */
    private void walkTable(long l1Offset, int l1Size, boolean activeTable, boolean fixAll) throws IOException {
        long l1Clusters = (l1Size * 8L + geometry.clusterSize() - 1) >>> clusterBits;
        reference(l1Offset >>> clusterBits, l1Clusters, activeTable ? "active L1 table" : "snapshot L1 table");
        byte[] l1 = new byte[l1Size * 8];
        image.file().readBlocking(l1Offset, MemorySegment.ofArray(l1));
        long previousHost = -1;
        for (int i = 0; i < l1Size; i++) {
            long l1Entry = TableLayout.word(l1, i);
            long l2Offset = l1Entry & TableLayout.L1_OFFSET_MASK;
            if (l2Offset == 0) {
                continue;
            }
            if ((l2Offset & (geometry.clusterSize() - 1)) != 0 || (l1Entry & TableLayout.L1_RESERVED_MASK) != 0) {
                error("ERROR l2_offset=" + Long.toHexString(l2Offset) + ": Table is not cluster aligned; L1 entry corrupted");
                continue;
            }
            if (!reference(l2Offset >>> clusterBits, 1, "L2 table")) {
                continue;
            }
            if (activeTable) {
                long rc = image.refcounts().get(l2Offset >>> clusterBits);
                boolean copied = (l1Entry & L2Entry.COPIED) != 0;
                if (copied != (rc == 1)) {
                    error((fixAll ? "Repairing" : "ERROR") + " OFLAG_COPIED L2 cluster: l1_index=" + i + " l1_entry="
                            + Long.toHexString(l1Entry) + " refcount=" + rc);
                    if (fixAll) {
                        image.l2Tables().setL1Copied(i, rc == 1);
                        corruptionsFixed++;
                    }
                }
            }
            byte[] l2 = new byte[geometry.clusterSize()];
            image.file().readBlocking(l2Offset, MemorySegment.ofArray(l2));
            for (int j = 0; j < geometry.l2Entries(); j++) {
                long guestCluster = (long) i * geometry.l2Entries() + j;
                L2Entry e = TableLayout.l2Entry(l2, j, geometry.extendedL2());
                previousHost = checkEntry(guestCluster, e, activeTable, fixAll, previousHost);
            }
        }
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
            } else if (activeTable) {
                active.add(new ActiveEntry(guestCluster, e)); // its COPIED flag disagrees with refcount 0 too, as QEMU counts
            }
            return host;
        }
        references.add(cluster);
        if (activeTable) {
            active.add(new ActiveEntry(guestCluster, e));
        }
        return host;
    }
}
