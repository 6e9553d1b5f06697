package io.jblk.tests.reliability.hostile;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;

/**
 * Builds minimal, valid qcow2 v3 images byte by byte from the specification, with no driver involved:
 * header (+ backing-format extension, end marker, backing name), one refcount table cluster, one refcount block
 * (16-bit refcounts), one L1 cluster, one L2 table, plain data clusters, deflate-compressed clusters, and optionally
 * an internal snapshot sharing everything. Refcounts are exact, so {@code qemu-img check} finds nothing; tests prove
 * that, then mutate one field at a time.
 */
public final class Qcow2ImageBuilder {
    static final long COPIED = 1L << 63;
    static final long COMPRESSED = 1L << 62;
    static final long INCOMPAT_EXTENDED_L2 = 1L << 4;
    static final int EXT_BACKING_FORMAT = 0xe2792aca;

    private int clusterBits = 16;
    private long size = 1 << 20;
    private boolean extendedL2;
    private int dataClusters = 2;
    private int compressedClusters;
    private String backingName;
    private String backingFormat;
    private boolean snapshot;

    public Qcow2ImageBuilder clusterBits(int value) {
        this.clusterBits = value;
        return this;
    }

    public Qcow2ImageBuilder size(long value) {
        this.size = value;
        return this;
    }

    public Qcow2ImageBuilder extendedL2(boolean value) {
        this.extendedL2 = value;
        return this;
    }

    public Qcow2ImageBuilder dataClusters(int value) {
        this.dataClusters = value;
        return this;
    }

    public Qcow2ImageBuilder compressedClusters(int value) {
        this.compressedClusters = value;
        return this;
    }

    public Qcow2ImageBuilder backing(String name, String format) {
        this.backingName = name;
        this.backingFormat = format;
        return this;
    }

    public Qcow2ImageBuilder snapshot(boolean value) {
        this.snapshot = value;
        return this;
    }

    /** Guest cluster {@code index} is filled with this byte, so every cluster's data is recognisable. */
    public static byte pattern(int index) {
        return (byte) (0x41 + index);
    }

    public Qcow2Image build() {
        int c = 1 << clusterBits;
        int l2Entries = c / (extendedL2 ? 16 : 8);
        long l2Coverage = (long) l2Entries * c;
        int l1Size = (int) ((size + l2Coverage - 1) / l2Coverage);
        if (l1Size * 8L > c) {
            throw new IllegalArgumentException("this builder keeps L1 in one cluster; size too large");
        }
        if (dataClusters + compressedClusters > l2Entries || (long) (dataClusters + compressedClusters) * c > size) {
            throw new IllegalArgumentException("data must fit in the first L2 table and the virtual size");
        }
        long refTable = c;
        long refBlock = 2L * c;
        long l1 = 3L * c;
        long l2 = 4L * c;
        long next = 5L * c;
        List<Long> data = new ArrayList<>();
        for (int i = 0; i < dataClusters; i++) {
            data.add(next);
            next += c;
        }
        List<Long> compressed = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        for (int j = 0; j < compressedClusters; j++) {
            byte[] content = new byte[c];
            Arrays.fill(content, pattern(dataClusters + j));
            payloads.add(deflate(content));
            compressed.add(next);
            next += c;
        }
        long snapshotL1 = snapshot ? next : 0;
        long snapshotTable = snapshot ? next + c : 0;
        if (snapshot) {
            next += 2L * c;
        }
        long clusters = next / c;
        if (clusters > c / 2) {
            throw new IllegalArgumentException("one refcount block must cover the image");
        }
        byte[] img = new byte[(int) next];
        // header
        Bytes.put(img, HeaderField.MAGIC, HeaderField.MAGIC_VALUE);
        Bytes.put(img, HeaderField.VERSION, 3);
        Bytes.put(img, HeaderField.CLUSTER_BITS, clusterBits);
        Bytes.put(img, HeaderField.SIZE, size);
        Bytes.put(img, HeaderField.L1_SIZE, l1Size);
        Bytes.put(img, HeaderField.L1_TABLE_OFFSET, l1);
        Bytes.put(img, HeaderField.REFCOUNT_TABLE_OFFSET, refTable);
        Bytes.put(img, HeaderField.REFCOUNT_TABLE_CLUSTERS, 1);
        Bytes.put(img, HeaderField.NB_SNAPSHOTS, snapshot ? 1 : 0);
        Bytes.put(img, HeaderField.SNAPSHOTS_OFFSET, snapshotTable);
        Bytes.put(img, HeaderField.INCOMPATIBLE_FEATURES, extendedL2 ? INCOMPAT_EXTENDED_L2 : 0);
        Bytes.put(img, HeaderField.REFCOUNT_ORDER, 4);
        Bytes.put(img, HeaderField.HEADER_LENGTH, HeaderField.V3_LENGTH);
        int at = HeaderField.V3_LENGTH;
        long extensions = at;
        if (backingFormat != null) {
            byte[] fmt = backingFormat.getBytes(StandardCharsets.UTF_8);
            Bytes.put(img, at, 4, EXT_BACKING_FORMAT);
            Bytes.put(img, at + 4, 4, fmt.length);
            System.arraycopy(fmt, 0, img, at + 8, fmt.length);
            at += 8 + ((fmt.length + 7) & ~7);
        }
        at += 8; // end-of-extensions marker: type 0, length 0
        if (backingName != null) {
            byte[] name = backingName.getBytes(StandardCharsets.UTF_8);
            Bytes.put(img, HeaderField.BACKING_FILE_OFFSET, at);
            Bytes.put(img, HeaderField.BACKING_FILE_SIZE, name.length);
            System.arraycopy(name, 0, img, at, name.length);
        }
        // refcounts: everything used once; with a snapshot, the shared L2 and data twice
        Bytes.put(img, refTable, 8, refBlock);
        int[] refcount = new int[(int) clusters];
        for (int i = 0; i < 5; i++) {
            refcount[i] = 1;
        }
        int shared = snapshot ? 2 : 1;
        refcount[4] = shared;
        for (long d : data) {
            refcount[(int) (d / c)] = shared;
        }
        for (long d : compressed) {
            refcount[(int) (d / c)] = shared;
        }
        if (snapshot) {
            refcount[(int) (snapshotL1 / c)] = 1;
            refcount[(int) (snapshotTable / c)] = 1;
        }
        for (int i = 0; i < refcount.length; i++) {
            Bytes.put(img, refBlock + 2L * i, 2, refcount[i]);
        }
        long copied = snapshot ? 0 : COPIED; // COPIED = refcount exactly 1
        // L1 → the one L2 table
        if (dataClusters + compressedClusters > 0) {
            Bytes.put(img, l1, 8, l2 | copied);
            if (snapshot) {
                Bytes.put(img, snapshotL1, 8, l2);
            }
        }
        int e = extendedL2 ? 16 : 8;
        for (int i = 0; i < dataClusters; i++) {
            Bytes.put(img, l2 + (long) i * e, 8, data.get(i) | copied);
            if (extendedL2) {
                Bytes.put(img, l2 + (long) i * e + 8, 8, 0xffffffffL); // every subcluster allocated
            }
            Arrays.fill(img, (int) (long) data.get(i), (int) (long) data.get(i) + c, pattern(i));
        }
        int offsetBits = 62 - (clusterBits - 8);
        List<Integer> lengths = new ArrayList<>();
        for (int j = 0; j < compressedClusters; j++) {
            long host = compressed.get(j);
            byte[] payload = payloads.get(j);
            lengths.add(payload.length);
            System.arraycopy(payload, 0, img, (int) host, payload.length);
            long extraSectors = ((host + payload.length - 1) >> 9) - (host >> 9);
            Bytes.put(img, l2 + (long) (dataClusters + j) * e, 8, COMPRESSED | (extraSectors << offsetBits) | host);
        }
        if (snapshot) {
            writeSnapshot(img, snapshotTable, snapshotL1, l1Size);
        }
        byte[] guest = new byte[(int) size];
        for (int i = 0; i < dataClusters + compressedClusters; i++) {
            Arrays.fill(guest, i * c, (i + 1) * c, pattern(i));
        }
        return new Qcow2Image(img, clusterBits, extendedL2, refTable, refBlock, l1, l2, List.copyOf(data),
                List.copyOf(compressed), List.copyOf(lengths), snapshotTable, extensions, guest);
    }

    /** One snapshot table entry: fixed part, 16 bytes of v3 extra data, id "1", name "s1", padded to 8. */
    private void writeSnapshot(byte[] img, long table, long snapshotL1, int l1Size) {
        int at = (int) table;
        Bytes.put(img, at, 8, snapshotL1);
        Bytes.put(img, at + 8, 4, l1Size);
        Bytes.put(img, at + 12, 2, 1); // id_str_size
        Bytes.put(img, at + 14, 2, 2); // name_size
        // date, vm clock and vm state size stay 0
        Bytes.put(img, at + 36, 4, 16); // extra_data_size
        Bytes.put(img, at + 40 + 8, 8, size); // extra: vm_state_size_large = 0, disk_size = size
        img[at + 56] = '1';
        img[at + 57] = 's';
        img[at + 58] = '1';
    }

    /** Raw deflate (no zlib header), qcow2's compression type 0. */
    static byte[] deflate(byte[] content) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        deflater.setInput(content);
        deflater.finish();
        byte[] out = new byte[content.length + 64];
        int n = 0;
        while (!deflater.finished()) {
            n += deflater.deflate(out, n, out.length - n);
        }
        deflater.end();
        return Arrays.copyOf(out, n);
    }
}
