package io.jblk.qcow2.io;

import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.SubclusterType;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The write path: in-place writes to allocated subclusters, and allocating writes that mark only the subclusters
 * they touch, copying just the partial head and tail subclusters from the current guest view (backing chain, zeros,
 * decompressed data or a shared cluster).
 *
 * <p>Concurrency: an allocating write claims its guest cluster (QEMU's in-flight L2Meta); any other write, zeroing
 * or discard of that cluster waits for the claim, then looks at the mapping again. Writes that only touch NORMAL
 * subclusters of a cluster we own change no metadata and run in parallel. Data is written before the L2 entry that
 * exposes it is linked, and the image's flush syncs it before that entry reaches disk.
 */
public final class GuestWriter {
    /** Above this many COW bytes known to be zero, zeroing the host range is cheaper than writing zeros. */
    private static final int ZERO_RANGE_THRESHOLD = 8192;

    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final GuestReader reader;
    private final ClusterMapper mapper;
    private final Backing backing;
    private final CowBuffers cowBuffers;
    /** Guest clusters with an allocation in flight; guarded by the image lock. */
    private final Map<Long, CompletableFuture<Void>> claims = new HashMap<>();

    public GuestWriter(Qcow2Image image, GuestReader reader) {
        this.image = image;
        this.geometry = image.geometry();
        this.reader = reader;
        this.mapper = reader.mapper();
        this.backing = reader.backing();
        this.cowBuffers = new CowBuffers(geometry.clusterSize());
    }

    /** Writes guest bytes; blocks the calling (virtual) thread until the data is written and linked. */
    public void write(long offset, MemorySegment data) throws IOException {
        long end = offset + data.byteSize();
        long pos = offset;
        while (pos < end) {
            long cluster = geometry.clusterIndex(pos);
            long chunkEnd = Math.min(end, (cluster + 1) << geometry.clusterBits());
            writeInCluster(cluster, pos, data.asSlice(pos - offset, chunkEnd - pos));
            pos = chunkEnd;
        }
    }

    /**
     * Waits until no allocation is in flight for {@code cluster}. Must be called with the lock held; returns with the
     * lock held, having released it while waiting. Returns true if it had to wait (the caller re-reads the mapping).
     */
    boolean awaitClaim(long cluster) throws IOException {
        CompletableFuture<Void> claim = claims.get(cluster);
        if (claim == null) {
            return false;
        }
        image.lock().unlock();
        try {
            claim.handle((v, e) -> null).join();
        } finally {
            image.lock().lock();
        }
        return true;
    }

    /**
     * With the lock held: refuses a corrupt image, waits out any allocation in flight for {@code cluster}, then
     * returns its validated L2 entry. Every path that decides something from an entry starts here.
     */
    L2Entry settledEntry(long cluster) throws IOException {
        image.checkWritable();
        while (awaitClaim(cluster)) {
            image.checkWritable();
        }
        L2Entry entry = image.entry(cluster);
        mapper.validate(cluster, entry);
        return entry;
    }

    private void writeInCluster(long cluster, long pos, MemorySegment data) throws IOException {
        long clusterStart = cluster << geometry.clusterBits();
        int from = (int) (pos - clusterStart);
        int to = from + (int) data.byteSize();
        int sc = geometry.subclusterSize();
        int first = from / sc;
        int last = (to - 1) / sc;
        Plan plan;
        CompletableFuture<Void> claim = new CompletableFuture<>();
        image.lock().lock();
        try {
            L2Entry entry = settledEntry(cluster);
            boolean owned = entry.hasHostCluster(image.hasExternalData()) && entry.isCopied()
                    && image.l2Tables().isTableWritable(cluster);
            if (owned && allNormal(entry, first, last)) {
                long host = entry.hostOffset();
                pinIfRefcounted(host);
                plan = Plan.direct(host);
            } else {
                claims.put(cluster, claim);
                try {
                    plan = owned ? inPlace(entry, from, to, first, last) : allocating(cluster, entry, from, to, first, last);
                } catch (IOException | RuntimeException e) {
                    claims.remove(cluster);
                    claim.complete(null);
                    throw e;
                }
            }
        } finally {
            image.lock().unlock();
        }
        if (plan.direct) {
            try {
                image.dataFile().writeBlocking(plan.host + from, data);
            } finally {
                unpinIfRefcounted(plan.host);
            }
            return;
        }
        Throwable failure = null;
        try {
            writeData(cluster, plan, from, to, data);
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
        }
        // One critical section ends the allocation either way: link the new entry (or give the cluster back) and
        // drop the claim. The waiters are woken only after the lock is released, so none of them parks on it.
        image.lock().lock();
        try {
            if (failure == null) {
                try {
                    link(cluster, plan);
                } catch (IOException | RuntimeException | Error e) {
                    failure = e;
                }
            }
            if (failure != null && plan.allocated) {
                try {
                    image.refcounts().add(plan.host >>> geometry.clusterBits(), -1);
                } catch (IOException | RuntimeException e) {
                    failure.addSuppressed(e);
                }
            }
            claims.remove(cluster);
        } finally {
            image.lock().unlock();
            claim.complete(null);
        }
        switch (failure) {
            case null -> { }
            case IOException e -> throw e;
            case RuntimeException e -> throw e;
            case Error e -> throw e;
            default -> throw new IllegalStateException(failure);
        }
    }

    private void pinIfRefcounted(long host) {
        if (!image.hasExternalData()) {
            image.pin(host >>> geometry.clusterBits());
        }
    }

    private void unpinIfRefcounted(long host) {
        if (!image.hasExternalData()) {
            image.unpin(host >>> geometry.clusterBits());
        }
    }

    private boolean allNormal(L2Entry entry, int first, int last) {
        for (int i = first; i <= last; i++) {
            if (entry.type(i, geometry.extendedL2(), image.hasExternalData()) != SubclusterType.NORMAL) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether a newly allocated cluster starts at or past the end of the file. Only the request it was allocated for
     * writes into it, so if it does, all of it stays a hole until written there and a copy-on-write of zeros can be
     * skipped. Without a backing file every such copy is of zeros, so the question is settled under the lock, before
     * a later cluster can be handed out and written past this one. With one, the copy is rarely of zeros, and the
     * system call (a point where the OS may preempt the lock's holder) is left for after the lock, when it matters.
     */
    private enum EndOfFile { PAST, BEFORE, ASK }

    private EndOfFile endOfFile(long host) throws IOException {
        if (image.hasExternalData()) {
            return EndOfFile.BEFORE;
        }
        if (backing.exists()) {
            return EndOfFile.ASK;
        }
        return host >= image.file().size() ? EndOfFile.PAST : EndOfFile.BEFORE;
    }

    /** What an allocating or bitmap-changing write will do once the lock is dropped. */
    private record Plan(boolean direct, long host, boolean allocated, int cowStart, int cowEnd, L2Entry oldEntry,
                        L2Entry newEntry, boolean replacesCluster, EndOfFile endOfFile) {
        static Plan direct(long host) {
            return new Plan(true, host, false, 0, 0, null, null, false, EndOfFile.BEFORE);
        }
    }

    /** A cluster we own with some touched subclusters not yet allocated: COW only the partial ones, in place. */
    private Plan inPlace(L2Entry entry, int from, int to, int first, int last) {
        int sc = geometry.subclusterSize();
        boolean ext = geometry.extendedL2();
        SubclusterType head = entry.type(first, ext, image.hasExternalData());
        SubclusterType tail = entry.type(last, ext, image.hasExternalData());
        int cowStart = head == SubclusterType.NORMAL ? from : first * sc;
        int cowEnd = tail == SubclusterType.NORMAL ? to : (last + 1) * sc;
        L2Entry updated = ext ? entry.allocating(first, last) : entry.withWord(entry.word() & ~L2Entry.ZERO_FLAG);
        return new Plan(false, entry.hostOffset(), false, cowStart, cowEnd, entry, updated, false, EndOfFile.BEFORE);
    }

    /**
     * A cluster without a host cluster of ours (unallocated, zero, compressed, or shared with a snapshot): allocate,
     * with QEMU's COW bounds (a compressed cluster is copied whole, a shared one over all its allocated subclusters).
     */
    private Plan allocating(long cluster, L2Entry entry, int from, int to, int first, int last) throws IOException {
        int sc = geometry.subclusterSize();
        boolean ext = geometry.extendedL2();
        int startSc = first;
        int endSc = last;
        long bitmap = entry.bitmap();
        if (entry.isCompressed()) {
            startSc = 0;
            endSc = geometry.subclustersPerCluster() - 1;
            bitmap = 0;
        } else if (entry.hasHostCluster(image.hasExternalData())) {
            // Shared with a snapshot: the new cluster must hold every live subcluster.
            int alloc = entry.allocationMask();
            if (ext && alloc != 0) {
                startSc = Math.min(first, Integer.numberOfTrailingZeros(alloc));
                endSc = Math.max(last, 31 - Integer.numberOfLeadingZeros(alloc));
            }
        }
        image.l2Tables().prepareTable(cluster);
        long host = image.allocateDataCluster(cluster);
        long word = (image.hasExternalData() ? cluster << geometry.clusterBits() : host) | L2Entry.COPIED;
        L2Entry updated = ext ? new L2Entry(word, bitmap).allocating(startSc, endSc) : new L2Entry(word, 0);
        int cowStart = ext ? startSc * sc : 0;
        int cowEnd = ext ? (endSc + 1) * sc : geometry.clusterSize();
        return new Plan(false, host, !image.hasExternalData(), cowStart, cowEnd, entry, updated, true,
                endOfFile(host));
    }

    /** Writes the guest data and the copy-on-write around it into the plan's host cluster (no L2 change yet). */
    private void writeData(long cluster, Plan plan, int from, int to, MemorySegment data) throws IOException {
        long clusterStart = cluster << geometry.clusterBits();
        int headLength = from - plan.cowStart;
        int tailLength = plan.cowEnd - to;
        boolean cowReadsAsZero = headLength + tailLength > 0
                && readsAsZero(plan.oldEntry, clusterStart, plan.cowStart, from)
                && readsAsZero(plan.oldEntry, clusterStart, to, plan.cowEnd);
        boolean pastEnd = cowReadsAsZero && switch (plan.endOfFile) {
            case PAST -> true;
            case BEFORE -> false;
            // Outside the lock, after the allocation: a file that grew past the cluster meanwhile only turns the
            // answer to no, and the zeros are then written.
            case ASK -> plan.host >= image.file().size();
        };
        boolean zeroCow = cowReadsAsZero && (pastEnd || headLength + tailLength >= ZERO_RANGE_THRESHOLD);
        if (zeroCow || headLength + tailLength == 0) {
            checkInPlace(plan);
            if (zeroCow && !pastEnd) {
                // QEMU's handle_alloc_space: zero the touched subclusters on the host instead of writing zeros.
                image.dataFile().zeroRangeBlocking(plan.host + plan.cowStart, plan.cowEnd - plan.cowStart);
            }
            // Past the end of the file the COW area is a hole already: it reads as zeros and costs no space.
            image.dataFile().writeBlocking(plan.host + from, data);
            return;
        }
        List<MemorySegment> parts = new ArrayList<>(3);
        // Head and tail around a small write: one read of the whole COW range (as QEMU does) instead of two; the guest
        // data then replaces its middle. Otherwise head and tail are read separately into one buffer.
        boolean oneRead = headLength > 0 && tailLength > 0 && to - from <= headLength + tailLength;
        MemorySegment buffer = cowBuffers.take(oneRead ? plan.cowEnd - plan.cowStart : headLength + tailLength);
        try {
            if (oneRead) {
                MemorySegment cow = buffer.asSlice(0, plan.cowEnd - plan.cowStart);
                reader.readSteady(cluster, plan.oldEntry, clusterStart + plan.cowStart, cow);
                parts.add(cow.asSlice(0, headLength));
                parts.add(data);
                parts.add(cow.asSlice(to - plan.cowStart, tailLength));
            } else {
                if (headLength > 0) {
                    MemorySegment head = buffer.asSlice(0, headLength);
                    reader.readSteady(cluster, plan.oldEntry, clusterStart + plan.cowStart, head);
                    parts.add(head);
                }
                parts.add(data);
                if (tailLength > 0) {
                    MemorySegment tail = buffer.asSlice(headLength, tailLength);
                    reader.readSteady(cluster, plan.oldEntry, clusterStart + to, tail);
                    parts.add(tail);
                }
            }
            checkInPlace(plan);
            image.dataFile().writeBlocking(plan.host + (headLength > 0 ? plan.cowStart : from), parts);
        } finally {
            cowBuffers.give(buffer); // the reads and the write above have completed, or failed and ended
        }
    }

    /**
     * A cluster allocated for this write was checked against the metadata whole when it was handed out; only a
     * cluster written in place needs its range checked (under the lock, which guards the metadata map).
     */
    private void checkInPlace(Plan plan) throws IOException {
        if (image.hasExternalData() || plan.allocated) {
            return;
        }
        image.lock().lock();
        try {
            image.metadata().checkWrite(plan.host + plan.cowStart, plan.cowEnd - plan.cowStart, "guest data write");
        } catch (io.jblk.api.CorruptImageException e) {
            throw image.markCorrupt(e.getMessage());
        } finally {
            image.lock().unlock();
        }
    }

    /** With the lock held, once the data is written: links the plan's new entry. */
    private void link(long cluster, Plan plan) throws IOException {
        // Re-read: a zeroing of other subclusters may have changed the bitmap while the data was written.
        L2Entry current = image.entry(cluster);
        L2Entry linked = plan.newEntry;
        if (geometry.extendedL2() && current.bitmap() != plan.oldEntry.bitmap() && !plan.oldEntry.isCompressed()) {
            int first = plan.cowStart / geometry.subclusterSize();
            int last = (plan.cowEnd - 1) / geometry.subclusterSize();
            linked = new L2Entry(plan.newEntry.word(), current.bitmap()).allocating(first, last);
        }
        image.setEntry(cluster, linked);
        if (plan.replacesCluster) {
            image.releaseLater(plan.oldEntry); // the old (shared or compressed) storage, once unlinked on disk
        }
    }


    /** Whether guest bytes {@code [a, b)} of the cluster read as zeros under the old entry (no I/O on the data). */
    private boolean readsAsZero(L2Entry old, long clusterStart, int a, int b) throws IOException {
        if (a >= b) {
            return true;
        }
        List<Run> runs = mapper.runs(geometry.clusterIndex(clusterStart), old, clusterStart + a, clusterStart + b);
        for (Run run : runs) {
            boolean zero = switch (run.type()) {
                case ZERO_PLAIN, ZERO_ALLOC -> true;
                case UNALLOCATED_PLAIN, UNALLOCATED_ALLOC -> backing.readsAsZero(run.guestOffset(), run.length());
                default -> false;
            };
            if (!zero) {
                return false;
            }
        }
        return true;
    }
}
