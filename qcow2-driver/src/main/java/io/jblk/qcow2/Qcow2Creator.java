package io.jblk.qcow2;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.LockMode;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.nativeio.HostFileOptions;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.Features;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.RefcountBlockLayout;
import io.jblk.qcow2.format.TableLayout;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.nativeio.HostFileOpening;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Creates qcow2 images the way {@code qemu-img create} lays them out: header in cluster 0, refcount table in
 * cluster 1, its first refcount block in cluster 2, then the L1 table from the allocator (cluster 3 for small disks),
 * so that images we create and images QEMU creates have the same layout and host offsets.
 */
final class Qcow2Creator {
    private Qcow2Creator() {
    }

    static void create(Path path, CreateOptions options, HostFileOpener opener) throws IOException {
        CreateSettings s = CreateSettings.parse(options);
        String backingFormat = s.backingFormat();
        if (s.backingFile() != null && backingFormat == null) {
            Path backing = Qcow2Image.resolve(path, s.backingFile());
            if (Files.exists(backing)) {
                backingFormat = BlockDrivers.probe(backing).formatName();
            }
        }
        String preallocation = s.dataFileRaw() && s.preallocation().equals("off") ? "metadata" : s.preallocation();
        int cs = 1 << s.clusterBits();
        long incompatible = (s.extendedL2() ? Features.INCOMPAT_EXTENDED_L2 : 0)
                | (s.dataFile() != null ? Features.INCOMPAT_DATA_FILE : 0)
                | (s.compressionType() != Qcow2Header.COMPRESSION_DEFLATE ? Features.INCOMPAT_COMPRESSION : 0);
        long compatible = s.lazyRefcounts() ? Features.COMPAT_LAZY_REFCOUNTS : 0;
        long autoclear = s.dataFileRaw() ? Features.AUTOCLEAR_DATA_FILE_RAW : 0;
        Qcow2Header initial = new Qcow2Header(s.version(), s.clusterBits(), 0, 0, 0, 0, cs, 1, 0, 0,
                incompatible, compatible, autoclear, s.refcountOrder(),
                s.version() == 2 ? Qcow2Header.V2_HEADER_LENGTH : Qcow2Header.V3_HEADER_LENGTH,
                s.compressionType(), null, s.backingFile(), s.backingFile() == null ? null : backingFormat,
                s.dataFile(), List.of(), List.of());
        // The image file, and the data file, are locked from the moment they are created until the image is
        // complete, with the permissions of a writable open, as qemu-img create holds them while it formats and
        // preallocates: nobody can open the image half-made, and a file another process is using is refused before
        // anything is truncated. The work itself goes through opens without locks of their own.
        OpenOptions locked = OpenOptions.builder().build();
        HostFile dataGuard = null;
        try (HostFile file = opener.open(path, createOptions(HostFileOpening.forMetadataFile(locked)))) {
            if (s.dataFile() != null) {
                dataGuard = opener.open(Qcow2Image.resolve(path, s.dataFile()),
                        createOptions(HostFileOpening.forDataFile(locked)));
                dataGuard.truncate(0);
                dataGuard.truncate(s.size());
            }
            file.truncate(0);
            byte[] table = new byte[cs];
            TableLayout.setWord(table, 0, 2L * cs);
            RefcountBlockLayout layout = new RefcountBlockLayout(s.refcountOrder(), s.clusterBits());
            byte[] block = new byte[cs];
            for (int i = 0; i < 3; i++) {
                layout.set(block, i, 1);
            }
            file.writeBlocking(0, MemorySegment.ofArray(initial.encode()));
            file.writeBlocking(cs, MemorySegment.ofArray(table));
            file.writeBlocking(2L * cs, MemorySegment.ofArray(block));
            file.flushBlocking();
            format(path, s, opener);
            if (!preallocation.equals("off")) {
                preallocate(path, opener, preallocation);
            }
        } finally {
            if (dataGuard != null) {
                dataGuard.close();
            }
        }
    }

    /** Host options that create the file (never truncating it: that waits for the lock) and lock it with {@code lockOf}'s. */
    private static HostFileOptions createOptions(HostFileOptions lockOf) {
        return HostFileOptions.defaults().withCreate(true).withLock(lockOf.lock());
    }

    /** Opens the initial image for the rest of the work, without locks: the creator's own open holds them. */
    private static Qcow2Image openUnlocked(Path path, HostFileOpener opener) throws IOException {
        return Qcow2Image.open(path, OpenOptions.builder().lockMode(LockMode.OFF).build(), opener, false);
    }

    /** Gives the initial image (header, refcount table and block) its L1 table and size. */
    private static void format(Path path, CreateSettings s, HostFileOpener opener) throws IOException {
        int cs = 1 << s.clusterBits();
        Qcow2Image image = openUnlocked(path, opener);
        try {
            ClusterGeometry geometry = image.geometry();
            long l1Entries = geometry.l1EntriesFor(s.size());
            if (l1Entries * 8 > Qcow2Header.MAX_L1_BYTES) {
                throw new io.jblk.api.InvalidOptionException("Image size " + s.size() + " is too large for "
                        + cs + "-byte clusters (the L1 table would exceed " + Qcow2Header.MAX_L1_BYTES + " bytes)");
            }
            // Like QEMU, an empty disk has no L1 table at all (offset 0), so nothing is allocated for it.
            int l1Clusters = (int) ((l1Entries * 8 + cs - 1) / cs);
            long l1Offset = l1Entries == 0 ? 0 : image.refcounts().allocate(l1Clusters);
            image.refcounts().writeBack();
            // Only the table's own bytes, like QEMU: the rest of its cluster stays a hole, so a 2 MiB-cluster image
            // does not spend 2 MiB of disk on an 8-byte L1 table (and the file is byte-identical to qemu-img's).
            if (l1Entries > 0) {
                image.file().writeBlocking(l1Offset, MemorySegment.ofArray(new byte[(int) l1Entries * 8]));
            }
            image.file().flushBlocking();
            Qcow2Header sized = image.header().withL1Table((int) l1Entries, l1Offset).withSize(s.size());
            image.file().writeBlocking(0, MemorySegment.ofArray(sized.encode()));
            image.file().flushBlocking();
        } finally {
            image.close();
        }
    }

    /** Links every guest cluster to a host cluster; the subclusters stay unallocated with extended L2, as in QEMU. */
    private static void preallocate(Path path, HostFileOpener opener, String mode) throws IOException {
        Qcow2Image image = openUnlocked(path, opener);
        try {
            preallocate(image, 0, mode);
        } finally {
            image.close();
        }
    }

    /**
     * Links every guest cluster from {@code firstCluster} to the end of the disk to a host cluster (creation, and a
     * resize of an image whose external data file is raw, which must stay mapped one to one as QEMU keeps it).
     */
    static void preallocate(Qcow2Image image, long firstCluster, String mode) throws IOException {
        image.lock().lock();
        try {
            ClusterGeometry geometry = image.geometry();
            long clusters = (image.header().size() + geometry.clusterSize() - 1) >>> geometry.clusterBits();
            long end = image.file().size();
            for (long c = firstCluster; c < clusters; c++) {
                image.l2Tables().prepareTable(c);   // the table before its data, as QEMU allocates them
                long host = image.allocateDataCluster(c);
                if (mode.equals("metadata")) {
                    // Linked, not written: it reads as zeros only if it is a hole. A cluster inside the file may be
                    // one freed before (the refcount table's old place when the table grew on the way, whose bytes
                    // stay, as in QEMU), so it is zeroed before it is linked; past the end of the file it is a hole.
                    if (!image.hasExternalData() && host < image.file().size()) {
                        image.file().zeroRangeBlocking(host, geometry.clusterSize());
                    }
                } else if (mode.equals("full")) {
                    image.dataFile().writeBlocking(host, MemorySegment.ofArray(new byte[geometry.clusterSize()]));
                } else {
                    image.dataFile().zeroRangeBlocking(host, geometry.clusterSize());
                }
                long word = host | L2Entry.COPIED;
                image.setEntry(c, new L2Entry(word, 0));
                if (!image.hasExternalData()) {
                    end = Math.max(end, host + geometry.clusterSize());
                }
                if (image.needsWriteback()) {
                    image.flush();
                }
            }
            image.flush();
            if (image.file().size() < end) {
                image.file().truncate(end);
            }
        } finally {
            image.lock().unlock();
        }
    }
}
