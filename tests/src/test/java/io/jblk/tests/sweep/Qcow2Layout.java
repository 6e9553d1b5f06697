package io.jblk.tests.sweep;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;

/**
 * Where a qcow2 file keeps its header fields, L1 table and refcount structures, read straight from the file (as a
 * hex dump would, not through a driver), so that a byte where two images differ can be named: "refcount table entry
 * 3 (0x20600 vs 0x20400)" says more than an offset.
 *
 * @param l1Offset       header field l1_table_offset
 * @param l1Size         header field l1_size (entries)
 * @param refcountOffset header field refcount_table_offset
 * @param refcountTableClusters header field refcount_table_clusters
 */
record Qcow2Layout(long size, int clusterBits, int refcountOrder, long l1Offset, int l1Size, long refcountOffset,
                   int refcountTableClusters, long[] refcountTable) {

    static Qcow2Layout read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(104);
            ch.read(h, 0);
            int version = h.getInt(4);
            int clusterBits = h.getInt(20);
            long size = h.getLong(24);
            int l1Size = h.getInt(36);
            long l1Offset = h.getLong(40);
            long refOffset = h.getLong(48);
            int refClusters = h.getInt(56);
            int order = version >= 3 ? h.getInt(96) : 4;
            ByteBuffer table = ByteBuffer.allocate(Math.toIntExact(((long) refClusters) << clusterBits));
            ch.read(table, refOffset);
            long[] entries = new long[table.capacity() / 8];
            for (int i = 0; i < entries.length; i++) {
                entries[i] = table.getLong(i * 8);
            }
            return new Qcow2Layout(size, clusterBits, order, l1Offset, l1Size, refOffset, refClusters, entries);
        }
    }

    long clusterSize() {
        return 1L << clusterBits;
    }

    /** Names what lives at byte {@code offset} of the file. */
    String describe(long offset) {
        if (offset < 104) {
            return "header byte " + offset + " (" + headerField(offset) + ")";
        }
        if (offset < clusterSize()) {
            return "header extensions / backing name area, byte " + offset;
        }
        if (offset >= l1Offset && offset < l1Offset + 8L * l1Size) {
            return "L1 entry " + (offset - l1Offset) / 8;
        }
        if (offset >= refcountOffset && offset < refcountOffset + ((long) refcountTableClusters << clusterBits)) {
            return "refcount table entry " + (offset - refcountOffset) / 8;
        }
        long cluster = offset >>> clusterBits;
        for (int t = 0; t < refcountTable.length; t++) {
            if (refcountTable[t] >>> clusterBits == cluster) {
                long entry = ((offset & (clusterSize() - 1)) * 8) >>> refcountOrder;
                long perBlock = (8L << clusterBits) >>> refcountOrder;
                return "refcount block " + t + " (cluster " + cluster + "), the refcount of cluster "
                        + (t * perBlock + entry);
            }
        }
        return "cluster " + cluster + " (no header, L1 or refcount structure of this image: L2 table, data or free)";
    }

    private static String headerField(long offset) {
        String[] names = {"magic", "version", "backing_file_offset", "backing_file_size", "cluster_bits", "size",
                "crypt_method", "l1_size", "l1_table_offset", "refcount_table_offset", "refcount_table_clusters",
                "nb_snapshots", "snapshots_offset", "incompatible_features", "compatible_features",
                "autoclear_features", "refcount_order", "header_length", "compression_type"};
        int[] starts = {0, 4, 8, 16, 20, 24, 32, 36, 40, 48, 56, 60, 64, 72, 80, 88, 96, 100, 104};
        for (int i = names.length - 1; i >= 0; i--) {
            if (offset >= starts[i]) {
                return names[i];
            }
        }
        return "?";
    }

    /**
     * The first byte where the two files differ, or -1 if they are the same. Bytes past the end of a file read as
     * zeros (in qcow2, as everywhere), so a file is the same as a longer one whose extra bytes are all zero: jblk
     * leaves the zero copy-on-write area of a cluster allocated at the end of the file a hole past the end, where
     * qemu-img extends the file over it (docs/qcow2.md); the lengths are compared separately.
     */
    static long firstDifference(Path a, Path b) throws IOException {
        try (InputStream x = Files.newInputStream(a); InputStream y = Files.newInputStream(b)) {
            byte[] bx = new byte[1 << 16];
            byte[] by = new byte[1 << 16];
            long at = 0;
            while (true) {
                int nx = x.readNBytes(bx, 0, bx.length);
                int ny = y.readNBytes(by, 0, by.length);
                if (nx == 0 && ny == 0) {
                    return -1;
                }
                int n = Math.max(nx, ny);
                java.util.Arrays.fill(bx, nx, n, (byte) 0);
                java.util.Arrays.fill(by, ny, n, (byte) 0);
                int mismatch = Arrays.mismatch(bx, 0, n, by, 0, n);
                if (mismatch >= 0) {
                    return at + mismatch;
                }
                at += n;
            }
        }
    }

    static String hex(Path file, long offset) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(8);
            int n = ch.read(b, offset & ~7L);
            if (n <= 0) {
                return "(end of file)";
            }
            StringBuilder s = new StringBuilder();
            for (int i = 0; i < n; i++) {
                s.append(String.format("%02x", b.get(i)));
            }
            return s.toString();
        }
    }
}
