package io.jblk.qcow2.image;

import io.jblk.api.CorruptImageException;
import io.jblk.api.ImageFormatException;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.OptionSizes;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.Features;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.RefcountBlockLayout;
import io.jblk.qcow2.format.Snapshot;
import io.jblk.qcow2.format.TableLayout;
import io.jblk.nativeio.Await;
import io.jblk.qcow2.meta.HeaderWriter;
import io.jblk.qcow2.meta.L2Tables;
import io.jblk.qcow2.meta.MetadataCache;
import io.jblk.qcow2.meta.MetadataClusters;
import io.jblk.qcow2.meta.Refcounts;
import io.jblk.nativeio.HostFileOpening;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An open qcow2 image's metadata: header, L1/L2 tables, refcounts, snapshots, and the crash-safe flush that writes
 * them back. Every method must be called with {@link #lock()} held; data I/O happens outside it.
 *
 * <p>Flush order (see docs/qcow2.md): refcount blocks, then fdatasync (which also makes newly written guest data
 * and copied-on-write data durable), then L2 slices, then fdatasync, then the refcount decrements of clusters the
 * flushed L2 entries no longer reference. With lazy refcounts the refcount blocks are skipped and the dirty bit is
 * set on disk before the first L2 slice is written.
 */
public final class Qcow2Image implements HeaderWriter {
    /** QEMU's default upper bound for the L2 cache. */
    public static final long DEFAULT_MAX_L2_CACHE = 32L << 20;
    public static final long DEFAULT_REFCOUNT_CACHE = 1L << 20;

    private final Path path;
    private final HostFile file;
    private final HostFile dataFile;
    private final boolean writable;
    private final ClusterGeometry geometry;
    private final MetadataClusters metadata;
    private final Refcounts refcounts;
    private final L2Tables l2;
    private final List<Snapshot> snapshots;
    private final PendingFrees pendingFrees = new PendingFrees();
    private final ReentrantLock lock = new ImageLock();
    private final java.util.concurrent.ConcurrentHashMap<Long, Integer> hostPins =
            new java.util.concurrent.ConcurrentHashMap<>();
    private Qcow2Header header;
    private boolean dirtyOnDisk;
    /** Where the next compressed cluster's bytes go (QEMU's free_byte_offset); 0 when a new cluster is needed. */
    private long compressedCursor;
    private volatile String corruption;

    private Qcow2Image(Path path, HostFile file, HostFile dataFile, boolean writable, Qcow2Header header,
                       ClusterGeometry geometry, MetadataClusters metadata, Refcounts refcounts, L2Tables l2,
                       List<Snapshot> snapshots) {
        this.path = path;
        this.file = file;
        this.dataFile = dataFile;
        this.writable = writable;
        this.header = header;
        this.geometry = geometry;
        this.metadata = metadata;
        this.refcounts = refcounts;
        this.l2 = l2;
        this.snapshots = snapshots;
        this.dirtyOnDisk = header.isDirty();
        this.corruption = header.isCorrupt() ? "the image's corrupt bit is set" : null;
    }

    /** Opens and validates an image. With {@code repairMode} a corrupt-flagged image may be opened for writing. */
    public static Qcow2Image open(Path path, OpenOptions options, HostFileOpener opener, boolean repairMode)
            throws IOException {
        HostFile file = opener.open(path, HostFileOpening.forMetadataFile(options));
        HostFile dataFile = null;
        try {
            long fileSize = file.size();
            byte[] first = new byte[(int) Math.min(4096, Math.max(fileSize, 0))];
            file.readBlocking(0, MemorySegment.ofArray(first));
            Qcow2Header.checkMagic(first);
            if (first.length < Qcow2Header.V2_HEADER_LENGTH) {
                throw ImageFormatException.field("file size", fileSize, "at least 72 bytes for a qcow2 header");
            }
            int clusterBits = java.nio.ByteBuffer.wrap(first).getInt(20);
            if (clusterBits < ClusterGeometry.MIN_CLUSTER_BITS || clusterBits > ClusterGeometry.MAX_CLUSTER_BITS) {
                throw ImageFormatException.field("cluster_bits", clusterBits, "9..21 (512 B to 2 MiB clusters)");
            }
            byte[] cluster0 = new byte[(int) Math.min(1L << clusterBits, fileSize)];
            file.readBlocking(0, MemorySegment.ofArray(cluster0));
            Qcow2Header header = Qcow2Header.parse(cluster0, fileSize);
            boolean writable = !options.readOnly();
            if (header.isCorrupt() && writable && !repairMode) {
                throw new CorruptImageException("Image is corrupt; cannot be opened read/write (run 'jblk check -r all "
                        + path + "' to repair it)");
            }
            String beyondEnd = header.tableBeyondEnd(fileSize);
            if (beyondEnd != null && writable) {
                throw new ImageFormatException(beyondEnd + " reaches beyond the end of the file (" + fileSize
                        + " bytes): the image can only be opened read-only (info, check, map)");
            }
            ClusterGeometry geometry = header.geometry();
            if (header.hasExternalDataFile()) {
                Path dataPath = options.confinement().check(path, "data file", resolve(path, header.dataFile()));
                dataFile = opener.open(dataPath, HostFileOpening.forDataFile(options));
            }
            MetadataClusters metadata = new MetadataClusters(clusterBits);
            metadata.add(0, 1, MetadataClusters.Kind.HEADER);

            long[] l1 = readTable(file, header.l1TableOffset(), header.l1Size(), fileSize);
            metadata.add(header.l1TableOffset() >>> clusterBits, clusters(l1.length * 8L, clusterBits),
                    MetadataClusters.Kind.ACTIVE_L1);
            int refTableEntries = (header.refcountTableClusters() << clusterBits) / 8;
            long[] refTable = readTable(file, header.refcountTableOffset(), refTableEntries, fileSize);
            metadata.add(header.refcountTableOffset() >>> clusterBits, clusters(refTable.length * 8L, clusterBits),
                    MetadataClusters.Kind.REFCOUNT_TABLE);
            for (long e : refTable) {
                long off = e & TableLayout.REFTABLE_OFFSET_MASK;
                if (off != 0) {
                    metadata.add(off >>> clusterBits, 1, MetadataClusters.Kind.REFCOUNT_BLOCK);
                }
            }
            for (long e : l1) {
                long off = e & TableLayout.L1_OFFSET_MASK;
                if (off != 0) {
                    metadata.add(off >>> clusterBits, 1, MetadataClusters.Kind.ACTIVE_L2);
                }
            }
            List<Snapshot> snapshots = readSnapshots(file, header, fileSize, metadata);

            Qcow2Image[] self = new Qcow2Image[1];
            HeaderWriter headerWriter = new HeaderWriter() {
                @Override
                public void switchRefcountTable(long offset, int clusters) throws IOException {
                    self[0].switchRefcountTable(offset, clusters);
                }

                @Override
                public void switchL1Table(int entries, long offset) throws IOException {
                    self[0].switchL1Table(entries, offset);
                }
            };
            RefcountBlockLayout layout = new RefcountBlockLayout(header.refcountOrder(), clusterBits);
            MetadataCache blockCache = new MetadataCache("refcount block", file, 1 << clusterBits,
                    Math.max(4L << clusterBits, sizeOption(options, "refcount-cache-size",
                            DEFAULT_REFCOUNT_CACHE)));
            Refcounts refcounts = new Refcounts(file, layout, refTable, header.refcountTableOffset(),
                    header.refcountTableClusters(), blockCache, headerWriter, metadata);
            int sliceBytes = (int) sizeOption(options, "l2-cache-entry-size",
                    geometry.clusterSize());
            if (Integer.bitCount(sliceBytes) != 1 || sliceBytes < 512 || sliceBytes > geometry.clusterSize()) {
                throw new io.jblk.api.InvalidOptionException("l2-cache-entry-size " + sliceBytes
                        + " must be a power of two between 512 and the cluster size " + geometry.clusterSize());
            }
            long wholeDisk = geometry.l1EntriesFor(header.size()) * geometry.clusterSize();
            long l2CacheBytes = sizeOption(options, "l2-cache-size",
                    Math.min(DEFAULT_MAX_L2_CACHE, Math.max(wholeDisk, 2L * sliceBytes)));
            MetadataCache sliceCache = new MetadataCache("L2 slice", file, sliceBytes, l2CacheBytes);
            L2Tables l2 = new L2Tables(file, geometry, l1, header.l1TableOffset(), sliceCache, refcounts, metadata,
                    headerWriter);
            Qcow2Image image = new Qcow2Image(path, file, dataFile, writable, header, geometry, metadata, refcounts,
                    l2, snapshots);
            self[0] = image;
            return image;
        } catch (IOException | RuntimeException e) {
            file.close();
            if (dataFile != null) {
                dataFile.close();
            }
            throw e;
        }
    }

    /** Things a read-write open does once the image is known to be valid (QEMU does them at open too). */
    public void prepareForWriting() throws IOException {
        if (!writable) {
            return;
        }
        long autoclear = header.autoclearFeatures();
        // Bitmaps are not maintained by jblk, so the extension must be declared stale; unknown bits likewise.
        long kept = autoclear & Features.AUTOCLEAR_DATA_FILE_RAW;
        if (kept != autoclear) {
            header = header.withFeatures(header.incompatibleFeatures(), header.compatibleFeatures(), kept);
            writeWholeHeader();
        }
    }

    private static long clusters(long bytes, int clusterBits) {
        return (bytes + (1L << clusterBits) - 1) >>> clusterBits;
    }

    private static long sizeOption(OpenOptions options, String name, long fallback)
            throws io.jblk.api.InvalidOptionException {
        return OptionSizes.parse(name, options.formatOption(name, null), fallback);
    }

    /**
     * The entries of a table that lie inside the file (a read-only image's table may reach beyond its end, where
     * every entry reads as 0): memory follows the file, not the entry count the header claims.
     */
    private static long[] readTable(HostFile file, long offset, int entries, long fileSize) throws IOException {
        return readTable(file, offset, (int) Math.min(entries, offset < fileSize ? (fileSize - offset) / 8 : 0));
    }

    private static long[] readTable(HostFile file, long offset, int entries) throws IOException {
        byte[] bytes = new byte[entries * 8];
        if (entries > 0) {
            file.readBlocking(offset, MemorySegment.ofArray(bytes));
        }
        return TableLayout.words(bytes, entries);
    }

    private static List<Snapshot> readSnapshots(HostFile file, Qcow2Header header, long fileSize,
                                                MetadataClusters metadata) throws IOException {
        if (header.nbSnapshots() == 0) {
            return List.of();
        }
        int clusterBits = header.clusterBits();
        long available = fileSize - header.snapshotsOffset();
        int bytes = (int) Math.min(Math.min(available, Snapshot.MAX_TABLE_BYTES),
                (long) header.nbSnapshots() * (40 + 1024 + 2 * 65535 + 8));
        byte[] table = new byte[bytes];
        file.readBlocking(header.snapshotsOffset(), MemorySegment.ofArray(table));
        List<Snapshot> snapshots = Snapshot.parseTable(table, header.nbSnapshots(), clusterBits, fileSize,
                header.size());
        metadata.add(header.snapshotsOffset() >>> clusterBits, 1, MetadataClusters.Kind.SNAPSHOT_TABLE);
        for (Snapshot s : snapshots) {
            metadata.add(s.l1TableOffset() >>> clusterBits, clusters(s.l1Size() * 8L, clusterBits),
                    MetadataClusters.Kind.INACTIVE_L1);
            for (long e : readTable(file, s.l1TableOffset(), s.l1Size())) {
                long off = e & TableLayout.L1_OFFSET_MASK;
                if (off != 0) {
                    metadata.add(off >>> clusterBits, 1, MetadataClusters.Kind.INACTIVE_L2);
                }
            }
        }
        return List.copyOf(snapshots);
    }

    /** Resolves a backing or data file name the way QEMU does: relative names against the image's directory. */
    public static Path resolve(Path image, String name) {
        Path p = Path.of(name);
        if (p.isAbsolute()) {
            return p;
        }
        Path dir = image.toAbsolutePath().getParent();
        return dir == null ? p : dir.resolve(p).normalize();
    }

    public ReentrantLock lock() {
        return lock;
    }

    public Path path() {
        return path;
    }

    public Qcow2Header header() {
        return header;
    }

    public ClusterGeometry geometry() {
        return geometry;
    }

    public HostFile file() {
        return file;
    }

    /** Where guest data lives: the external data file, or the image itself. */
    public HostFile dataFile() {
        return dataFile != null ? dataFile : file;
    }

    public boolean hasExternalData() {
        return dataFile != null;
    }

    public boolean isWritable() {
        return writable;
    }

    public List<Snapshot> snapshots() {
        return snapshots;
    }

    public Refcounts refcounts() {
        return refcounts;
    }

    public L2Tables l2Tables() {
        return l2;
    }

    public MetadataClusters metadata() {
        return metadata;
    }

    /** Non-null once the image was found inconsistent: writes are refused from then on. */
    public String corruption() {
        return corruption;
    }

    public L2Entry entry(long cluster) throws IOException {
        return l2.entry(cluster);
    }

    public void setEntry(long cluster, L2Entry entry) throws IOException {
        l2.setEntry(cluster, entry);
    }

    /** Allocates one host data cluster (for an external data file, the guest cluster's own offset). */
    public long allocateDataCluster(long guestCluster) throws IOException {
        if (dataFile != null) {
            return guestCluster << geometry.clusterBits();
        }
        long host = refcounts.allocate(1);
        metadata.checkWrite(host, geometry.clusterSize(), "new data cluster");
        return host;
    }

    /**
     * Host bytes for one compressed cluster, packed after the previous one while it fits in the same host cluster.
     * Every piece holds one reference to each host cluster it touches.
     */
    public long allocateCompressedBytes(int length) throws IOException {
        int cs = geometry.clusterSize();
        long offset;
        if (compressedCursor != 0 && (compressedCursor & (cs - 1)) + length <= cs) {
            offset = compressedCursor;
            refcounts.add(offset >>> geometry.clusterBits(), 1);
        } else {
            offset = refcounts.allocate((length + cs - 1) / cs);
        }
        metadata.checkWrite(offset, length, "compressed cluster");
        compressedCursor = offset + length;
        if ((compressedCursor & (cs - 1)) == 0) {
            compressedCursor = 0;
        }
        return offset;
    }

    /**
     * Drops the references a replaced L2 entry held (its host cluster, or every host cluster its compressed bytes
     * touch) once the L2 change that removed it is durable. Nothing to do for unallocated entries, nor with an
     * external data file, whose clusters carry no refcounts.
     */
    public void releaseLater(L2Entry old) {
        if (dataFile != null) {
            return;
        }
        if (old.isCompressed()) {
            CompressedDescriptor d = CompressedDescriptor.decode(old.word(), geometry.clusterBits());
            for (long c = d.firstHostCluster(geometry.clusterBits()); c <= d.lastHostCluster(geometry.clusterBits()); c++) {
                pendingFrees.release(c);
            }
        } else if (old.hasHostCluster(false)) {
            pendingFrees.release(old.hostOffset() >>> geometry.clusterBits());
        }
    }

    /**
     * Marks a host cluster as having data I/O in flight (taken under the lock when the mapping is read). A cluster
     * whose last reference was dropped is not released while pinned, so a late write can never land in a cluster
     * that was meanwhile handed to another guest offset.
     */
    public void pin(long hostCluster) {
        hostPins.merge(hostCluster, 1, Integer::sum);
    }

    public void unpin(long hostCluster) {
        hostPins.computeIfPresent(hostCluster, (k, v) -> v == 1 ? null : v - 1);
    }

    /**
     * Records an inconsistency found during I/O: on a writable image the corrupt bit is set on disk (as QEMU does)
     * and every later write is refused. Returns the exception for the caller to throw.
     */
    public CorruptImageException markCorrupt(String message) {
        if (corruption == null) {
            corruption = message;
            if (writable) {
                try {
                    header = header.withFeatures(header.incompatibleFeatures() | Features.INCOMPAT_CORRUPT,
                            header.compatibleFeatures(), header.autoclearFeatures());
                    writeIncompatibleFeatures();
                } catch (IOException e) {
                    // The request fails with the corruption anyway; the in-memory flag still refuses writes.
                }
            }
        }
        return new CorruptImageException("qcow2: marking image as corrupt: " + message
                + "; run 'jblk check -r all " + path + "' to repair it");
    }

    /** Fails when the image must not be written: corrupt or read-only. */
    public void checkWritable() throws CorruptImageException {
        if (corruption != null) {
            throw new CorruptImageException("image " + path + " is corrupt (" + corruption
                    + "); run 'jblk check -r all " + path + "' to repair it");
        }
    }

    @Override
    public void switchRefcountTable(long offset, int clusters) throws IOException {
        byte[] fields = new byte[12];
        java.nio.ByteBuffer.wrap(fields).putLong(offset).putInt(clusters);
        file.writeBlocking(48, MemorySegment.ofArray(fields));
        file.flushBlocking();
        header = header.withRefcountTable(offset, clusters);
    }

    @Override
    public void switchL1Table(int entries, long offset) throws IOException {
        byte[] fields = new byte[12];
        java.nio.ByteBuffer.wrap(fields).putInt(entries).putLong(offset);
        file.writeBlocking(36, MemorySegment.ofArray(fields));
        file.flushBlocking();
        header = header.withL1Table(entries, offset);
    }

    /**
     * Changes the virtual size. Growing extends the L1 table first; shrinking drops every mapping beyond the new
     * end (entries emptied, L2 tables wholly beyond unlinked, their clusters released after the unlink is durable),
     * then, as QEMU does, drops refcount blocks that count nothing but themselves and cuts the file after the last
     * cluster in use. The work is bounded by the L2 tables that exist, not by the guest range given up.
     */
    public void resize(long newSize) throws IOException {
        boolean shrink = newSize < header.size();
        if (newSize > header.size()) {
            growL1For(newSize);
        } else if (shrink) {
            l1EntriesFor(newSize);
            long firstGone = (newSize + geometry.clusterSize() - 1) >>> geometry.clusterBits();
            long lastCluster = (header.size() - 1) >>> geometry.clusterBits();
            int l2Entries = geometry.l2Entries();
            for (long i = firstGone / l2Entries; i < l2.l1Size() && i * l2Entries <= lastCluster; i++) {
                if (l2.l2Offset((int) i) == 0) {
                    continue; // no table: every cluster it would map is unallocated already
                }
                long from = Math.max(firstGone, i * l2Entries);
                long to = Math.min(lastCluster, (i + 1) * l2Entries - 1);
                for (long c = from; c <= to; c++) {
                    L2Entry e = l2.entry(c);
                    if (e.equals(L2Entry.UNALLOCATED)) {
                        continue;
                    }
                    releaseLater(e);
                    l2.setEntry(c, L2Entry.UNALLOCATED); // un-shares the table first if a snapshot shares it
                }
            }
            flush();
            for (long table : l2.unlinkTablesBeyond(newSize)) {
                refcounts.add(table, -1);
            }
        }
        header = header.withSize(newSize);
        byte[] size = new byte[8];
        java.nio.ByteBuffer.wrap(size).putLong(newSize);
        file.writeBlocking(24, MemorySegment.ofArray(size));
        file.flushBlocking();
        flush();
        if (shrink) {
            trimAfterShrink();
        }
    }

    /**
     * After a shrink is durable: unlinks the refcount blocks that no longer count anything but themselves, then
     * cuts the file after its last cluster in use (QEMU does both, so its shrunk files end there too).
     */
    private void trimAfterShrink() throws IOException {
        for (long cluster : refcounts.dropUnusedBlocks()) {
            metadata.remove(cluster, 1);
        }
        refcounts.writeBack();
        file.flushBlocking();
        long fileClusters = (file.size() + geometry.clusterSize() - 1) >>> geometry.clusterBits();
        long end = (refcounts.lastInUse(fileClusters) + 1) << geometry.clusterBits();
        if (end < file.size()) {
            file.truncate(end);
        }
    }

    /**
     * Grows the L1 table to map {@code newSize} bytes, leaving the size in the header alone: the first step of
     * growing, after which L2 entries beyond the current end may be written (nothing reads them until the size
     * changes).
     */
    public void growL1For(long newSize) throws IOException {
        l2.growL1((int) l1EntriesFor(newSize));
    }

    private long l1EntriesFor(long newSize) throws io.jblk.api.InvalidOptionException {
        if (newSize % 512 != 0) {
            throw new io.jblk.api.InvalidOptionException("Image size must be a multiple of 512 bytes, got " + newSize);
        }
        long entries = geometry.l1EntriesFor(newSize);
        if (entries * 8 > Qcow2Header.MAX_L1_BYTES) {
            throw new io.jblk.api.InvalidOptionException("Image size " + newSize + " needs an L1 table above "
                    + Qcow2Header.MAX_L1_BYTES + " bytes");
        }
        return entries;
    }

    private void writeIncompatibleFeatures() throws IOException {
        byte[] word = new byte[8];
        java.nio.ByteBuffer.wrap(word).putLong(header.incompatibleFeatures());
        file.writeBlocking(Qcow2Header.INCOMPATIBLE_FEATURES_OFFSET, MemorySegment.ofArray(word));
        file.flushBlocking();
    }

    private void writeWholeHeader() throws IOException {
        byte[] cluster = header.encode();
        file.writeBlocking(0, MemorySegment.ofArray(cluster));
        file.flushBlocking();
    }

    /** Whether cached metadata has outgrown the caches so an ordered flush should run soon. */
    public boolean needsWriteback() {
        return l2.slices().overCapacity() || refcounts.blocks().overCapacity();
    }

    /** Writes metadata back in crash-safe order and syncs; every write completed before the call is durable. */
    public void flush() throws IOException {
        if (!writable) {
            return;
        }
        boolean lazy = header.hasLazyRefcounts();
        if (l2.slices().hasDirty()) {
            if (lazy && !dirtyOnDisk) {
                setDirty(true);
            }
            if (!lazy) {
                refcounts.writeBack();
            }
            syncAll();
            l2.slices().writeBack();
        } else if (!lazy) {
            refcounts.writeBack();
        }
        syncAll();
        if (!pendingFrees.isEmpty()) {
            for (long cluster : pendingFrees.take()) {
                if (hostPins.containsKey(cluster)) {
                    pendingFrees.release(cluster); // still in use by I/O in flight: release at a later flush
                    continue;
                }
                if (refcounts.get(cluster) == 1) {
                    // Nothing references it any more: hand its space back to the host before it can be reused.
                    file.punchHoleBlocking(cluster << geometry.clusterBits(), geometry.clusterSize());
                    metadata.remove(cluster, 1);
                    l2.slices().discardRange(cluster << geometry.clusterBits(),
                            (cluster + 1) << geometry.clusterBits());
                }
                refcounts.add(cluster, -1);
            }
            if (!lazy) {
                refcounts.writeBack();
                file.flushBlocking();
            }
        }
    }

    private void syncAll() throws IOException {
        if (dataFile != null) {
            dataFile.flushBlocking();
        }
        file.flushBlocking();
    }

    private void setDirty(boolean dirty) throws IOException {
        long bits = dirty ? header.incompatibleFeatures() | Features.INCOMPAT_DIRTY
                : header.incompatibleFeatures() & ~Features.INCOMPAT_DIRTY;
        header = header.withFeatures(bits, header.compatibleFeatures(), header.autoclearFeatures());
        writeIncompatibleFeatures();
        dirtyOnDisk = dirty;
    }

    /**
     * Writes the cached refcounts back and clears the dirty bit (clean close or repair). With lazy refcounts some
     * refcount changes come with no L2 change and so never set the dirty bit (a resize releasing the old L1 table):
     * they are written here too, or a clean close would leave them leaked.
     */
    public void markClean() throws IOException {
        if (writable && (dirtyOnDisk || refcounts.blocks().hasDirty())) {
            refcounts.writeBack();
            file.flushBlocking();
            if (dirtyOnDisk) {
                setDirty(false);
            }
        }
    }

    /** Clears the corrupt bit after a successful repair. */
    public void clearCorrupt() throws IOException {
        if (writable && header.isCorrupt()) {
            header = header.withFeatures(header.incompatibleFeatures() & ~Features.INCOMPAT_CORRUPT,
                    header.compatibleFeatures(), header.autoclearFeatures());
            writeIncompatibleFeatures();
            corruption = null;
        }
    }

    public boolean isDirty() {
        return dirtyOnDisk;
    }

    /** Flushes, clears the dirty bit of a lazy-refcount image, and closes the files. */
    public void close() throws IOException {
        try {
            if (writable && corruption == null) {
                flush();
                markClean();
            }
        } finally {
            try {
                file.close();
            } finally {
                if (dataFile != null) {
                    dataFile.close();
                }
            }
        }
    }
}
