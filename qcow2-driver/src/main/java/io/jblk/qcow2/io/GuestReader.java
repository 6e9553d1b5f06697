package io.jblk.qcow2.io;

import io.jblk.api.Extent;
import io.jblk.api.ExtentCollector;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.SubclusterType;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * The read path and block status: resolves guest ranges to typed runs and issues the host and backing reads,
 * merging runs that are contiguous on both sides into one request and running the rest in parallel.
 */
public final class GuestReader {
    private static final int DECOMPRESSED_CACHE_CLUSTERS = 8;

    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final ClusterMapper mapper;
    private final Backing backing;
    private volatile Boolean metadataPreallocated;
    private final Map<Long, byte[]> decompressed = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<Long, byte[]> eldest) {
            return size() > DECOMPRESSED_CACHE_CLUSTERS;
        }
    };

    public GuestReader(Qcow2Image image, Backing backing) {
        this.image = image;
        this.geometry = image.geometry();
        this.mapper = new ClusterMapper(image);
        this.backing = backing;
    }

    ClusterMapper mapper() {
        return mapper;
    }

    Backing backing() {
        return backing;
    }

    /** The L2 entry of a guest cluster, read under the metadata lock. */
    L2Entry entry(long cluster) throws IOException {
        image.lock().lock();
        try {
            return image.entry(cluster);
        } finally {
            image.lock().unlock();
        }
    }

    /** The L2 entry of a guest cluster, its host cluster pinned (see {@link Qcow2Image#pin}) when it has one. */
    private L2Entry pinnedEntry(long cluster, List<Long> pins) throws IOException {
        image.lock().lock();
        try {
            L2Entry entry = image.entry(cluster);
            if (entry.hasHostCluster(image.hasExternalData()) && !image.hasExternalData()) {
                long host = entry.hostOffset() >>> geometry.clusterBits();
                image.pin(host);
                pins.add(host);
            }
            return entry;
        } finally {
            image.lock().unlock();
        }
    }

    /** Reads guest bytes into {@code dst}; blocks the calling (virtual) thread until done. */
    public void read(long offset, MemorySegment dst) throws IOException {
        List<Long> pins = new ArrayList<>();
        try {
            readPinned(offset, dst, pins);
        } finally {
            pins.forEach(image::unpin);
        }
    }

    private void readPinned(long offset, MemorySegment dst, List<Long> pins) throws IOException {
        long end = offset + dst.byteSize();
        List<PendingRead> pending = new ArrayList<>();
        Merger host = new Merger(true, dst, offset, pending);
        Merger fromBacking = new Merger(false, dst, offset, pending);
        long pos = offset;
        while (pos < end) {
            long cluster = geometry.clusterIndex(pos);
            long chunkEnd = Math.min(end, (cluster + 1) << geometry.clusterBits());
            L2Entry entry = pinnedEntry(cluster, pins);
            addRuns(mapper.runs(cluster, entry, pos, chunkEnd), entry, pos, dst, offset, host, fromBacking);
            pos = chunkEnd;
        }
        host.finish();
        fromBacking.finish();
        runAll(pending);
    }

    /**
     * Reads guest bytes of one cluster whose entry the caller keeps from changing (a write's claim on the cluster).
     * When no byte of the range lives in a host cluster (zero or unallocated subclusters: zeros or the backing chain)
     * it is served from {@code entry} without the image lock; otherwise it goes through {@link #read}, which takes
     * the entry under the lock and pins the host cluster it reads.
     */
    public void readSteady(long cluster, L2Entry entry, long offset, MemorySegment dst) throws IOException {
        List<Run> runs = mapper.runs(cluster, entry, offset, offset + dst.byteSize());
        for (Run run : runs) {
            if (!readsWithoutHost(run.type())) {
                read(offset, dst);
                return;
            }
        }
        List<PendingRead> pending = new ArrayList<>();
        Merger fromBacking = new Merger(false, dst, offset, pending);
        addRuns(runs, entry, offset, dst, offset, null, fromBacking); // no run needs the host merger
        fromBacking.finish();
        runAll(pending);
    }

    private static boolean readsWithoutHost(SubclusterType type) {
        return switch (type) {
            case ZERO_PLAIN, ZERO_ALLOC, UNALLOCATED_PLAIN, UNALLOCATED_ALLOC -> true;
            case NORMAL, COMPRESSED, INVALID -> false;
        };
    }

    /** Serves zero and compressed runs into {@code dst} at once and queues host and backing runs on the mergers. */
    private void addRuns(List<Run> runs, L2Entry entry, long pos, MemorySegment dst, long offset, Merger host,
                         Merger fromBacking) throws IOException {
        for (Run run : runs) {
            MemorySegment part = dst.asSlice(run.guestOffset() - offset, run.length());
            switch (run.type()) {
                case NORMAL -> host.add(run.guestOffset(), run.hostOffset(), run.length());
                case ZERO_PLAIN, ZERO_ALLOC -> part.fill((byte) 0);
                case UNALLOCATED_PLAIN, UNALLOCATED_ALLOC -> fromBacking.add(run.guestOffset(), run.guestOffset(), run.length());
                case COMPRESSED -> {
                    byte[] data = decompress(entry);
                    MemorySegment.copy(MemorySegment.ofArray(data), geometry.offsetInCluster(run.guestOffset()),
                            part, 0, run.length());
                }
                case INVALID -> throw image.markCorrupt("invalid subcluster at 0x" + Long.toHexString(pos));
            }
        }
    }

    /** Runs the merged reads: one on this thread, several started together and awaited. */
    private static void runAll(List<PendingRead> pending) throws IOException {
        if (pending.size() == 1) {
            pending.getFirst().runBlocking(); // the common case: one read, no reason to leave this thread
            return;
        }
        List<CompletableFuture<Void>> started = new ArrayList<>(pending.size());
        for (PendingRead read : pending) {
            started.add(read.start());
        }
        for (CompletableFuture<Void> f : started) {
            Await.await(f);
        }
    }

    /** One merged read from the image's data file or from the backing chain into part of the caller's buffer. */
    private record PendingRead(GuestReader reader, boolean fromHost, long source, MemorySegment part) {
        CompletableFuture<Void> start() {
            return fromHost ? reader.image.dataFile().read(source, part).thenApply(n -> null)
                    : reader.backing.read(source, part);
        }

        void runBlocking() throws IOException {
            if (fromHost) {
                reader.image.dataFile().readBlocking(source, part);
            } else {
                reader.backing.readBlocking(source, part);
            }
        }
    }

    /** Accumulates runs contiguous in the destination buffer and in the source into one read. */
    private final class Merger {
        private final boolean fromHost;
        private final MemorySegment dst;
        private final long dstBase;
        private final List<PendingRead> pending;
        private long guestStart = -1;
        private long sourceStart;
        private long length;

        Merger(boolean fromHost, MemorySegment dst, long dstBase, List<PendingRead> pending) {
            this.fromHost = fromHost;
            this.dst = dst;
            this.dstBase = dstBase;
            this.pending = pending;
        }

        void add(long guest, long source, long runLength) {
            if (guestStart >= 0 && guest == guestStart + length && source == sourceStart + length) {
                length += runLength;
                return;
            }
            finish();
            guestStart = guest;
            sourceStart = source;
            length = runLength;
        }

        void finish() {
            if (guestStart < 0) {
                return;
            }
            MemorySegment part = dst.asSlice(guestStart - dstBase, length);
            pending.add(new PendingRead(GuestReader.this, fromHost, sourceStart, part));
            guestStart = -1;
        }
    }

    private byte[] decompress(L2Entry entry) throws IOException {
        long key = entry.word();
        synchronized (decompressed) {
            byte[] hit = decompressed.get(key);
            if (hit != null) {
                return hit;
            }
        }
        CompressedDescriptor d = CompressedDescriptor.decode(entry.word(), geometry.clusterBits());
        byte[] compressed = new byte[d.byteLength()];
        image.file().readBlocking(d.hostOffset(), MemorySegment.ofArray(compressed));
        byte[] data = Decompressor.decompress(image.header().compressionType(), compressed, geometry.clusterSize(), d);
        synchronized (decompressed) {
            decompressed.put(key, data);
        }
        return data;
    }

    /** Block status of {@code [offset, offset + length)}, merged like qemu-img map. */
    public List<Extent> status(long offset, long length) throws IOException {
        return status(offset, length, Integer.MAX_VALUE);
    }

    /**
     * The first {@code maxExtents} extents of {@link #status(long, long)}: the walk over L2 entries (and down the
     * backing chain) stops as soon as one more extent would be needed, so the work is bounded by the limit and the
     * range, whatever the image's fragmentation.
     */
    public List<Extent> status(long offset, long length, int maxExtents) throws IOException {
        ExtentCollector out = new ExtentCollector(maxExtents);
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            long unmapped = withoutL2Table(pos, end);
            if (unmapped > pos) {
                // No L2 table: the whole range it would map is unallocated, answered at once, so the cost follows
                // the tables that exist and not the virtual size (a sparse 1 PiB image has 2^29 2 MiB clusters).
                boolean complete = backing.exists()
                        ? appendBacking(out, pos, unmapped - pos)
                        : out.add(new Extent(pos, unmapped - pos, false, true, false, 0, Extent.NO_OFFSET, false));
                if (!complete) {
                    return out.extents();
                }
                pos = unmapped;
                continue;
            }
            long cluster = geometry.clusterIndex(pos);
            long chunkEnd = Math.min(end, (cluster + 1) << geometry.clusterBits());
            L2Entry entry = entry(cluster);
            for (Run run : mapper.runs(cluster, entry, pos, chunkEnd)) {
                boolean complete = switch (run.type()) {
                    case NORMAL -> appendNormal(out, run.guestOffset(), run.length(), run.hostOffset());
                    case ZERO_ALLOC -> out.add(new Extent(run.guestOffset(), run.length(), false, true, true, 0,
                            run.hostOffset(), false));
                    case ZERO_PLAIN -> out.add(new Extent(run.guestOffset(), run.length(), false, true, true, 0,
                            Extent.NO_OFFSET, false));
                    case COMPRESSED -> out.add(new Extent(run.guestOffset(), run.length(), true, false, true, 0,
                            Extent.NO_OFFSET, true));
                    case UNALLOCATED_PLAIN, UNALLOCATED_ALLOC -> backing.exists()
                            ? appendBacking(out, run.guestOffset(), run.length())
                            : out.add(new Extent(run.guestOffset(), run.length(), false, true, false, 0,
                                    run.type() == SubclusterType.UNALLOCATED_ALLOC ? run.hostOffset()
                                            : Extent.NO_OFFSET, false));
                    case INVALID -> throw image.markCorrupt("invalid subcluster at 0x" + Long.toHexString(pos));
                };
                if (!complete) {
                    return out.extents();
                }
            }
            pos = chunkEnd;
        }
        return out.extents();
    }

    /**
     * The backing chain's answer for a run this image leaves unallocated, asked for no more extents than can still
     * be used. False when the answer is cut short: the run is then only partly described and the walk must stop.
     */
    private boolean appendBacking(ExtentCollector out, long guest, long length) throws IOException {
        // One extent more than there is room for: the first may merge into the last one collected.
        int ask = (int) Math.min(Integer.MAX_VALUE, (long) out.room() + 1);
        for (Extent e : backing.status(guest, length, ask)) {
            if (!out.add(e)) {
                return false;
            }
        }
        return out.end(guest) == guest + length;
    }

    /** If no L2 table maps guest offset {@code pos}: the end of that table's range (at most {@code end}); else pos. */
    private long withoutL2Table(long pos, long end) throws IOException {
        int i = geometry.l1Index(pos);
        image.lock().lock();
        try {
            if (i < image.l2Tables().l1Size() && image.l2Tables().l2Offset(i) != 0) {
                return pos;
            }
        } finally {
            image.lock().unlock();
        }
        return Math.min(end, (i + 1) * geometry.l2Coverage());
    }

    /**
     * A run of allocated data. Like QEMU 7.2, when the image looks metadata-preallocated the run is split where the
     * host file has holes, and holes (or bytes past its end) are reported as zero with data still set. False when
     * the collector filled up before the run's end.
     */
    private boolean appendNormal(ExtentCollector out, long guest, long length, long host) throws IOException {
        if (!metadataPreallocated()) {
            return out.add(new Extent(guest, length, true, false, true, 0, host, false));
        }
        var file = image.dataFile();
        long fileSize = file.size();
        long done = 0;
        while (done < length) {
            long at = host + done;
            long n;
            boolean zero;
            long data = at >= fileSize ? -1 : file.nextData(at);
            if (data < 0 || data > at) {
                zero = true;
                n = data < 0 ? length - done : Math.min(length - done, data - at);
            } else {
                zero = false;
                n = Math.min(length - done, Math.max(1, file.nextHole(at) - at));
            }
            if (!out.add(new Extent(guest + done, n, true, zero, true, 0, at, false))) {
                return false;
            }
            done += n;
        }
        return true;
    }

    /**
     * QEMU's qcow2_detect_metadata_preallocation, decided once per open: the image file counts as preallocated when
     * at least max(10/9, +2) as many of its clusters have a refcount as the host has really allocated. Only then
     * does QEMU ask the host file which data clusters are holes.
     */
    private boolean metadataPreallocated() throws IOException {
        Boolean known = metadataPreallocated;
        if (known == null) {
            image.lock().lock();
            try {
                var file = image.file();
                long realClusters = file.allocatedBytes() / geometry.clusterSize();
                long threshold = Math.max(realClusters * 10 / 9, realClusters + 2);
                long endCluster = (file.size() + geometry.clusterSize() - 1) >>> geometry.clusterBits();
                long counted = 0;
                for (long c = 0; c < endCluster && counted < threshold; c++) {
                    if (image.refcounts().get(c) != 0) {
                        counted++;
                    }
                }
                known = counted >= threshold;
                metadataPreallocated = known;
            } finally {
                image.lock().unlock();
            }
        }
        return known;
    }
}
