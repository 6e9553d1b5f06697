package io.jblk.qcow2.io;

import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.SubclusterType;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * Write-zeroes and discard, in L2 metadata where possible.
 *
 * <p>Write-zeroes follows QEMU 7.2: the unit is the subcluster; an unaligned head or tail becomes a zero bit only if
 * the rest of its subcluster already reads as zero and it is unallocated or zero, otherwise real zeros are written;
 * partial-cluster zeroing never frees the host cluster; whole clusters get an all-zero bitmap and lose their host
 * cluster only with MAY_UNMAP or when compressed.
 *
 * <p>Discard of whole clusters is QEMU's; beyond QEMU, subcluster-aligned parts of a cluster are discarded too (zero
 * bits, host range punched, cluster freed once nothing in it is allocated) unless the image was opened with
 * {@code discard-granularity=cluster}. Both wait for allocations in flight before looking at an entry.
 */
public final class ZeroWriter {
    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final GuestWriter writer;
    private final Backing backing;
    private final long size;
    private final boolean subclusterDiscard;

    public ZeroWriter(Qcow2Image image, GuestReader reader, GuestWriter writer, long size, boolean subclusterDiscard) {
        this.image = image;
        this.geometry = image.geometry();
        this.writer = writer;
        this.backing = reader.backing();
        this.size = size;
        this.subclusterDiscard = subclusterDiscard && geometry.extendedL2();
    }

    public void writeZeroes(long offset, long length, boolean mayUnmap) throws IOException {
        long end = offset + length;
        int sc = geometry.subclusterSize();
        long pos = offset;
        if (pos % sc != 0) {
            long headEnd = Math.min(end, roundUp(pos, sc));
            if (headEnd == size && end == size) {
                headEnd = end;
            }
            zeroUnaligned(pos, headEnd - pos, mayUnmap);
            pos = headEnd;
        }
        long bodyEnd = end;
        if (end % sc != 0 && end != size && pos < end) {
            bodyEnd = Math.max(pos, end - end % sc);
        }
        while (pos < bodyEnd) {
            long cluster = geometry.clusterIndex(pos);
            long chunkEnd = Math.min(bodyEnd, (cluster + 1) << geometry.clusterBits());
            zeroAligned(cluster, pos, chunkEnd, mayUnmap);
            pos = chunkEnd;
        }
        if (pos < end) {
            zeroUnaligned(pos, end - pos, mayUnmap);
        }
    }

    private static long roundUp(long value, long unit) {
        return (value + unit - 1) / unit * unit;
    }

    /** A piece inside one subcluster (the image's last, partial subcluster counts as whole). */
    private void zeroUnaligned(long pos, long length, boolean mayUnmap) throws IOException {
        long cluster = geometry.clusterIndex(pos);
        long clusterStart = cluster << geometry.clusterBits();
        int sc = geometry.subclusterSize();
        int index = (int) ((pos - clusterStart) / sc);
        long scStart = clusterStart + (long) index * sc;
        long scEnd = Math.min(size, scStart + sc);
        boolean widened = false;
        image.lock().lock();
        try {
            L2Entry entry = writer.settledEntry(cluster);
            SubclusterType type = entry.type(index, geometry.extendedL2(), image.hasExternalData());
            boolean zeroOrUnallocated = type.readsAsZero() || type.isUnallocated();
            if (image.header().version() < 3) {
                // v2 zeroizes by discarding when there is no backing file (QEMU): an unallocated cluster already
                // reads as zero and stays unallocated; anything else gets real zeros.
                widened = !backing.exists() && type.isUnallocated();
            } else if (zeroOrUnallocated
                    && (type.readsAsZero() || (backing.readsAsZero(scStart, pos - scStart)
                    && backing.readsAsZero(pos + length, scEnd - pos - length)))) {
                if (geometry.extendedL2()) {
                    update(cluster, entry, entry.zeroing(index, index));
                } else {
                    // The widened piece is a whole cluster: MAY_UNMAP frees it, as in QEMU.
                    zeroWholeCluster(cluster, entry, mayUnmap);
                }
                widened = true;
            }
        } finally {
            image.lock().unlock();
        }
        if (!widened) {
            writeRealZeros(pos, length);
        }
    }

    private void writeRealZeros(long pos, long length) throws IOException {
        MemorySegment zeros = MemorySegment.ofArray(new byte[(int) Math.min(length, 1 << 20)]);
        for (long done = 0; done < length; done += zeros.byteSize()) {
            writer.write(pos + done, zeros.asSlice(0, Math.min(zeros.byteSize(), length - done)));
        }
    }

    private void zeroAligned(long cluster, long pos, long end, boolean mayUnmap) throws IOException {
        long clusterStart = cluster << geometry.clusterBits();
        boolean whole = pos == clusterStart && (end - clusterStart == geometry.clusterSize() || end == size);
        boolean fallback = false;
        image.lock().lock();
        try {
            L2Entry entry = writer.settledEntry(cluster);
            if (image.header().version() < 3) {
                // v2 has no zero flag: zeroing is a discard without backing data, else real zeros.
                if (backing.exists() || !whole) {
                    fallback = true;
                } else {
                    unmap(cluster, entry, new L2Entry(0, 0));
                }
            } else if (whole) {
                zeroWholeCluster(cluster, entry, mayUnmap);
            } else if (entry.isCompressed()) {
                fallback = true;
            } else {
                int sc = geometry.subclusterSize();
                int first = (int) ((pos - clusterStart) / sc);
                int last = (int) ((end - 1 - clusterStart) / sc);
                update(cluster, entry, entry.zeroing(first, last));
            }
        } finally {
            image.lock().unlock();
        }
        if (fallback) {
            writeRealZeros(pos, end - pos);
        }
    }

    /** QEMU's zero_in_l2_slice for one whole cluster. Lock held. */
    private void zeroWholeCluster(long cluster, L2Entry entry, boolean mayUnmap) throws IOException {
        boolean allocated = entry.hasHostCluster(image.hasExternalData());
        boolean unmap = entry.isCompressed() || (mayUnmap && allocated);
        long word = unmap ? 0 : entry.word();
        if (geometry.extendedL2()) {
            L2Entry zeroed = new L2Entry(word, L2Entry.ALL_ZERO);
            if (unmap) {
                unmap(cluster, entry, zeroed);
            } else {
                update(cluster, entry, zeroed);
            }
        } else {
            L2Entry zeroed = new L2Entry(word | L2Entry.ZERO_FLAG, 0);
            if (unmap) {
                unmap(cluster, entry, zeroed);
            } else {
                update(cluster, entry, zeroed);
            }
        }
    }

    public void discard(long offset, long length) throws IOException {
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            long cluster = geometry.clusterIndex(pos);
            long clusterStart = cluster << geometry.clusterBits();
            long chunkEnd = Math.min(end, clusterStart + geometry.clusterSize());
            boolean whole = pos == clusterStart && (chunkEnd - clusterStart == geometry.clusterSize() || chunkEnd == size);
            if (whole) {
                discardCluster(cluster);
            } else if (subclusterDiscard) {
                int sc = geometry.subclusterSize();
                long a = roundUp(pos, sc);
                long b = chunkEnd == size ? chunkEnd : chunkEnd - (chunkEnd - clusterStart) % sc;
                if (a < b) {
                    discardSubclusters(cluster, (int) ((a - clusterStart) / sc), (int) ((b - 1 - clusterStart) / sc));
                }
            }
            pos = chunkEnd;
        }
    }

    private void discardCluster(long cluster) throws IOException {
        image.lock().lock();
        try {
            L2Entry entry = writer.settledEntry(cluster);
            boolean allocated = entry.isCompressed() || entry.hasHostCluster(image.hasExternalData());
            if (!allocated && !backing.exists()) {
                return; // nothing to release and nothing to hide: QEMU leaves such entries untouched
            }
            if (image.header().version() < 3) {
                if (!backing.exists()) {
                    unmap(cluster, entry, new L2Entry(0, 0));
                }
                return;
            }
            L2Entry zeroed = geometry.extendedL2() ? new L2Entry(0, L2Entry.ALL_ZERO) : new L2Entry(L2Entry.ZERO_FLAG, 0);
            unmap(cluster, entry, zeroed);
        } finally {
            image.lock().unlock();
        }
    }

    /** jblk's extension: discard subclusters {@code first..last} of one cluster. */
    private void discardSubclusters(long cluster, int first, int last) throws IOException {
        image.lock().lock();
        try {
            L2Entry entry = writer.settledEntry(cluster);
            boolean hasHost = entry.hasHostCluster(image.hasExternalData());
            if (entry.isCompressed() || (!hasHost && !backing.exists())) {
                return;
            }
            L2Entry zeroed = entry.zeroing(first, last);
            boolean owned = hasHost && entry.isCopied();
            if (owned && zeroed.allocationMask() == 0) {
                // Nothing in the cluster is allocated any more: give the whole cluster back.
                unmap(cluster, entry, new L2Entry(0, zeroed.bitmap() & L2Entry.ALL_ZERO));
                return;
            }
            update(cluster, entry, zeroed);
            if (owned) {
                int sc = geometry.subclusterSize();
                for (int i = first; i <= last; i++) {
                    if ((entry.allocationMask() & (1 << i)) != 0) {
                        int j = i;
                        while (j + 1 <= last && (entry.allocationMask() & (1 << (j + 1))) != 0) {
                            j++;
                        }
                        // The zero bits hide these bytes already, so punching them early cannot expose stale data.
                        image.dataFile().punchHoleBlocking(entry.hostOffset() + (long) i * sc, (long) (j - i + 1) * sc);
                        i = j;
                    }
                }
            }
        } finally {
            image.lock().unlock();
        }
    }

    /** Replaces an entry and releases the host storage it referenced. Lock held. */
    private void unmap(long cluster, L2Entry old, L2Entry replacement) throws IOException {
        update(cluster, old, replacement);
        if (image.hasExternalData() && old.hasHostCluster(true)) {
            // No refcounts in an external data file: give the space back to the host directly.
            image.dataFile().punchHoleBlocking(old.hostOffset(), geometry.clusterSize());
        } else {
            image.releaseLater(old);
        }
    }

    private void update(long cluster, L2Entry old, L2Entry replacement) throws IOException {
        if (!old.equals(replacement)) {
            image.setEntry(cluster, replacement);
        }
    }
}
