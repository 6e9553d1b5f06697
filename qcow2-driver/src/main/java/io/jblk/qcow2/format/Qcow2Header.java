package io.jblk.qcow2.format;

import io.jblk.api.ImageFormatException;
import io.jblk.api.UnsupportedFeatureException;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The qcow2 header (cluster 0): fixed fields, header extensions and the backing file name. The one place that knows
 * the header layout; {@link #parse} validates every field against QEMU's limits before anything trusts it, and
 * {@link #encode} writes the cluster the way QEMU does (extensions in QEMU's order, unknown ones preserved).
 */
public record Qcow2Header(
        int version, int clusterBits, long size, int cryptMethod,
        int l1Size, long l1TableOffset, long refcountTableOffset, int refcountTableClusters,
        int nbSnapshots, long snapshotsOffset,
        long incompatibleFeatures, long compatibleFeatures, long autoclearFeatures,
        int refcountOrder, int headerLength, int compressionType, byte[] extraHeaderBytes,
        String backingFile, String backingFormat, String dataFile,
        List<Features.FeatureName> featureTable, List<HeaderExtension> preservedExtensions) {

    public static final int MAGIC = 0x514649fb;
    public static final int V2_HEADER_LENGTH = 72;
    public static final int V3_MIN_HEADER_LENGTH = 104;
    /** QEMU writes v3 headers with the compression type byte and padding: 112 bytes. */
    public static final int V3_HEADER_LENGTH = 112;
    public static final int MAX_BACKING_NAME = 1023;
    public static final long MAX_L1_BYTES = 32L << 20;
    public static final long MAX_REFCOUNT_TABLE_BYTES = 8L << 20;
    public static final int MAX_SNAPSHOTS = 65536;
    /** Offset of the incompatible-features word, rewritten alone to set or clear the dirty bit. */
    public static final int INCOMPATIBLE_FEATURES_OFFSET = 72;
    public static final int COMPRESSION_DEFLATE = 0;
    public static final int COMPRESSION_ZSTD = 1;

    public Qcow2Header {
        extraHeaderBytes = extraHeaderBytes == null ? new byte[0] : extraHeaderBytes.clone();
        featureTable = List.copyOf(featureTable);
        preservedExtensions = List.copyOf(preservedExtensions);
    }

    public ClusterGeometry geometry() {
        return new ClusterGeometry(clusterBits, isExtendedL2());
    }

    public int clusterSize() {
        return 1 << clusterBits;
    }

    public int refcountBits() {
        return 1 << refcountOrder;
    }

    public boolean isExtendedL2() {
        return (incompatibleFeatures & Features.INCOMPAT_EXTENDED_L2) != 0;
    }

    public boolean hasExternalDataFile() {
        return (incompatibleFeatures & Features.INCOMPAT_DATA_FILE) != 0;
    }

    public boolean isDataFileRaw() {
        return (autoclearFeatures & Features.AUTOCLEAR_DATA_FILE_RAW) != 0;
    }

    public boolean isDirty() {
        return (incompatibleFeatures & Features.INCOMPAT_DIRTY) != 0;
    }

    public boolean isCorrupt() {
        return (incompatibleFeatures & Features.INCOMPAT_CORRUPT) != 0;
    }

    public boolean hasLazyRefcounts() {
        return (compatibleFeatures & Features.COMPAT_LAZY_REFCOUNTS) != 0;
    }

    public String compressionTypeName() {
        return compressionType == COMPRESSION_ZSTD ? "zstd" : "zlib";
    }

    public Qcow2Header withL1Table(int newSize, long newOffset) {
        return new Qcow2Header(version, clusterBits, size, cryptMethod, newSize, newOffset, refcountTableOffset,
                refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures, compatibleFeatures,
                autoclearFeatures, refcountOrder, headerLength, compressionType, extraHeaderBytes, backingFile,
                backingFormat, dataFile, featureTable, preservedExtensions);
    }

    public Qcow2Header withRefcountTable(long newOffset, int newClusters) {
        return new Qcow2Header(version, clusterBits, size, cryptMethod, l1Size, l1TableOffset, newOffset,
                newClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures, compatibleFeatures,
                autoclearFeatures, refcountOrder, headerLength, compressionType, extraHeaderBytes, backingFile,
                backingFormat, dataFile, featureTable, preservedExtensions);
    }

    public Qcow2Header withFeatures(long incompatible, long compatible, long autoclear) {
        return new Qcow2Header(version, clusterBits, size, cryptMethod, l1Size, l1TableOffset, refcountTableOffset,
                refcountTableClusters, nbSnapshots, snapshotsOffset, incompatible, compatible, autoclear,
                refcountOrder, headerLength, compressionType, extraHeaderBytes, backingFile, backingFormat,
                dataFile, featureTable, preservedExtensions);
    }

    public Qcow2Header withSize(long newSize) {
        return new Qcow2Header(version, clusterBits, newSize, cryptMethod, l1Size, l1TableOffset,
                refcountTableOffset, refcountTableClusters, nbSnapshots, snapshotsOffset, incompatibleFeatures,
                compatibleFeatures, autoclearFeatures, refcountOrder, headerLength, compressionType,
                extraHeaderBytes, backingFile, backingFormat, dataFile, featureTable, preservedExtensions);
    }

    /**
     * Fails unless {@code first} (at least 4 bytes of the file) starts with the qcow2 magic: checked before any other
     * field, so a file of another format opened with {@code -f qcow2} is called that, not a bad cluster size.
     */
    public static void checkMagic(byte[] first) throws ImageFormatException {
        int magic = first.length < 4 ? 0 : ByteBuffer.wrap(first).order(ByteOrder.BIG_ENDIAN).getInt(0);
        if (first.length < 4 || magic != MAGIC) {
            throw new ImageFormatException("Image is not in qcow2 format: magic is "
                    + (first.length < 4 ? "missing (the file has " + first.length + " bytes)"
                    : String.format("0x%08x", magic)) + ", expected 0x514649fb (QFI\\xfb)");
        }
    }

    /**
     * Parses and validates cluster 0. {@code fileSize} bounds every table offset; nothing is allocated from a
     * header field before it has been checked.
     */
    public static Qcow2Header parse(byte[] bytes, long fileSize)
            throws ImageFormatException, UnsupportedFeatureException {
        if (bytes.length < V2_HEADER_LENGTH) {
            throw ImageFormatException.field("file size", bytes.length, "at least 72 bytes for a qcow2 header");
        }
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.BIG_ENDIAN);
        checkMagic(bytes);
        int version = b.getInt(4);
        if (version != 2 && version != 3) {
            throw new UnsupportedFeatureException("qcow2 version " + version + " is not supported (only 2 and 3)");
        }
        long backingOffset = b.getLong(8);
        int backingSize = b.getInt(16);
        int clusterBits = b.getInt(20);
        if (clusterBits < ClusterGeometry.MIN_CLUSTER_BITS || clusterBits > ClusterGeometry.MAX_CLUSTER_BITS) {
            throw ImageFormatException.field("cluster_bits", clusterBits, "9..21 (512 B to 2 MiB clusters)");
        }
        int clusterSize = 1 << clusterBits;
        long size = b.getLong(24);
        if (size < 0) {
            throw ImageFormatException.field("size", Long.toUnsignedString(size), "below 2^63");
        }
        int cryptMethod = b.getInt(32);
        if (cryptMethod != 0) {
            throw new UnsupportedFeatureException("encrypted qcow2 images (crypt_method " + cryptMethod
                    + ") are not supported yet");
        }
        long l1Size = Integer.toUnsignedLong(b.getInt(36));
        long l1Offset = b.getLong(40);
        long refcountTableOffset = b.getLong(48);
        long refcountTableClusters = Integer.toUnsignedLong(b.getInt(56));
        long nbSnapshots = Integer.toUnsignedLong(b.getInt(60));
        long snapshotsOffset = b.getLong(64);

        long incompatible = 0;
        long compatible = 0;
        long autoclear = 0;
        int refcountOrder = 4;
        int headerLength = V2_HEADER_LENGTH;
        int compressionType = COMPRESSION_DEFLATE;
        byte[] extra = new byte[0];
        if (version == 3) {
            if (bytes.length < V3_MIN_HEADER_LENGTH) {
                throw ImageFormatException.field("file size", bytes.length, "at least 104 bytes for a v3 header");
            }
            incompatible = b.getLong(72);
            compatible = b.getLong(80);
            autoclear = b.getLong(88);
            refcountOrder = b.getInt(96);
            headerLength = b.getInt(100);
            if (headerLength < V3_MIN_HEADER_LENGTH || headerLength % 8 != 0 || headerLength > clusterSize
                    || headerLength > bytes.length) {
                throw ImageFormatException.field("header_length", headerLength,
                        "a multiple of 8 between 104 and the cluster size " + clusterSize);
            }
            if (headerLength > 104) {
                compressionType = bytes[104] & 0xff;
            }
            if (headerLength > V3_HEADER_LENGTH) {
                extra = java.util.Arrays.copyOfRange(bytes, V3_HEADER_LENGTH, headerLength);
            }
        }
        if (refcountOrder < 0 || refcountOrder > 6) {
            throw ImageFormatException.field("refcount_order", refcountOrder, "0..6 (1 to 64 bit refcounts)");
        }
        // The L1 and refcount tables may lie beyond the end of the file, as QEMU allows: such an image opens
        // read-only (they read as zeros) so that it can be inspected and checked; see tableBeyondEnd.
        requireTable("l1_table_offset", l1Offset, l1Size * 8, MAX_L1_BYTES, clusterSize, Long.MAX_VALUE);
        requireTable("refcount_table_offset", refcountTableOffset, refcountTableClusters * clusterSize,
                MAX_REFCOUNT_TABLE_BYTES, clusterSize, Long.MAX_VALUE);
        if (refcountTableClusters == 0) {
            throw ImageFormatException.field("refcount_table_clusters", 0, "at least 1");
        }
        if (nbSnapshots > MAX_SNAPSHOTS) {
            throw ImageFormatException.field("nb_snapshots", nbSnapshots, "at most " + MAX_SNAPSHOTS);
        }
        if (nbSnapshots > 0) {
            requireTable("snapshots_offset", snapshotsOffset, 0, Long.MAX_VALUE, clusterSize, fileSize);
        }

        boolean extendedL2 = (incompatible & Features.INCOMPAT_EXTENDED_L2) != 0;
        if (extendedL2 && clusterBits < ClusterGeometry.MIN_EXTENDED_CLUSTER_BITS) {
            throw ImageFormatException.field("cluster_bits", clusterBits,
                    "at least 14 with extended L2 entries (subclusters of at least 512 bytes)");
        }
        ClusterGeometry geometry = new ClusterGeometry(clusterBits, extendedL2);
        if (geometry.l1EntriesFor(size) * 8 > MAX_L1_BYTES) {
            throw ImageFormatException.field("size", size, "at most " + (MAX_L1_BYTES / 8 * geometry.l2Coverage())
                    + " bytes with " + clusterSize + "-byte clusters (Image is too big: its L1 table would exceed "
                    + MAX_L1_BYTES + " bytes)");
        }
        if (geometry.l1EntriesFor(size) > l1Size) {
            throw ImageFormatException.field("l1_size", l1Size, "at least " + geometry.l1EntriesFor(size)
                    + " entries for a virtual size of " + size + " bytes");
        }
        if (compressionType > COMPRESSION_ZSTD) {
            throw new UnsupportedFeatureException("compression_type " + compressionType
                    + " is not supported (0 deflate, 1 zstd)");
        }
        boolean compressionBit = (incompatible & Features.INCOMPAT_COMPRESSION) != 0;
        if ((compressionType != COMPRESSION_DEFLATE) != compressionBit) {
            throw ImageFormatException.field("compression type incompatible bit", compressionBit,
                    "set exactly when compression_type (" + compressionType + ") is not deflate");
        }
        if (backingOffset != 0) {
            if (Integer.toUnsignedLong(backingSize) > MAX_BACKING_NAME) {
                throw ImageFormatException.field("backing_file_size", Integer.toUnsignedString(backingSize),
                        "at most " + MAX_BACKING_NAME);
            }
            if (backingOffset < headerLength || backingOffset + backingSize > Math.min(clusterSize, bytes.length)) {
                throw ImageFormatException.field("backing_file_offset", backingOffset,
                        "inside the header cluster after the header (" + headerLength + ".." + clusterSize + ")");
            }
        }

        // Header extensions: between the header and the backing name (or the end of cluster 0).
        long extensionsEnd = backingOffset != 0 ? backingOffset : Math.min(clusterSize, bytes.length);
        String backingFormat = null;
        String dataFile = null;
        List<Features.FeatureName> table = new ArrayList<>();
        List<HeaderExtension> preserved = new ArrayList<>();
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        int at = headerLength;
        while (at + 8 <= extensionsEnd) {
            int type = b.getInt(at);
            long length = Integer.toUnsignedLong(b.getInt(at + 4));
            if (type == HeaderExtension.END) {
                break;
            }
            if (at + 8 + length > extensionsEnd) {
                throw ImageFormatException.field("header extension 0x" + Integer.toHexString(type) + " length",
                        length, "to end within the header area (" + (extensionsEnd - at - 8) + " bytes left)");
            }
            if (!seen.add(type)) {
                throw ImageFormatException.field("header extension 0x" + Integer.toHexString(type), "repeated",
                        "at most once");
            }
            byte[] data = java.util.Arrays.copyOfRange(bytes, at + 8, at + 8 + (int) length);
            switch (type) {
                case HeaderExtension.BACKING_FORMAT -> backingFormat = string(data);
                case HeaderExtension.DATA_FILE -> dataFile = string(data);
                case HeaderExtension.FEATURE_TABLE -> {
                    for (int i = 0; i + 48 <= data.length; i += 48) {
                        int end = i + 2;
                        while (end < i + 48 && data[end] != 0) {
                            end++;
                        }
                        table.add(new Features.FeatureName(data[i] & 0xff, data[i + 1] & 0xff,
                                new String(data, i + 2, end - i - 2, StandardCharsets.UTF_8)));
                    }
                }
                case HeaderExtension.CRYPTO -> throw new UnsupportedFeatureException(
                        "encrypted qcow2 images (full disk encryption header) are not supported yet");
                default -> preserved.add(new HeaderExtension(type, data));
            }
            at += 8 + (int) ((length + 7) & ~7L);
        }

        long unknown = incompatible & ~Features.INCOMPAT_KNOWN;
        if (unknown != 0) {
            throw new UnsupportedFeatureException("Unsupported qcow2 feature(s): "
                    + Features.describeUnknownIncompatible(unknown, table));
        }
        if ((incompatible & Features.INCOMPAT_DATA_FILE) != 0 && dataFile == null) {
            throw ImageFormatException.field("external data file name", "missing",
                    "a data file extension (0x44415441) when incompatible bit 2 is set");
        }
        if ((autoclear & Features.AUTOCLEAR_DATA_FILE_RAW) != 0
                && (incompatible & Features.INCOMPAT_DATA_FILE) == 0) {
            throw ImageFormatException.field("autoclear bit raw external data", "set",
                    "only together with an external data file");
        }
        String backing = backingOffset == 0 ? null
                : new String(bytes, (int) backingOffset, backingSize, StandardCharsets.UTF_8);
        return new Qcow2Header(version, clusterBits, size, cryptMethod, (int) l1Size, l1Offset,
                refcountTableOffset, (int) refcountTableClusters, (int) nbSnapshots, snapshotsOffset, incompatible,
                compatible, autoclear, refcountOrder, headerLength, compressionType, extra, backing, backingFormat,
                dataFile, table, preserved);
    }

    /**
     * The first of the active L1 table and the refcount table that does not lie wholly inside a file of
     * {@code fileSize} bytes, described for an error message; null when both do. Such an image can be read (the
     * missing part reads as zeros) but not written: a write would extend the file to wherever the header points.
     */
    public String tableBeyondEnd(long fileSize) {
        if (l1Size > 0 && (l1TableOffset > fileSize || l1Size * 8L > fileSize - l1TableOffset)) {
            return "l1_table_offset 0x" + Long.toHexString(l1TableOffset) + " (+" + l1Size * 8L + " bytes)";
        }
        long refcountBytes = (long) refcountTableClusters << clusterBits;
        if (refcountTableOffset > fileSize || refcountBytes > fileSize - refcountTableOffset) {
            return "refcount_table_offset 0x" + Long.toHexString(refcountTableOffset) + " (+" + refcountBytes
                    + " bytes)";
        }
        return null;
    }

    private static void requireTable(String field, long offset, long bytes, long maxBytes, int clusterSize,
                                     long fileSize) throws ImageFormatException {
        if (bytes == 0 && offset == 0) {
            return; // an empty table may have no place at all (a zero-sized disk's L1)
        }
        if (bytes > maxBytes) {
            throw ImageFormatException.field(field.replace("offset", "size") + " (bytes)", bytes,
                    "at most " + maxBytes);
        }
        if (offset <= 0 || (offset & (clusterSize - 1)) != 0) {
            throw ImageFormatException.field(field, "0x" + Long.toHexString(offset),
                    "a non-zero multiple of the cluster size " + clusterSize);
        }
        if (offset > fileSize || bytes > fileSize - offset) {
            throw ImageFormatException.field(field, "0x" + Long.toHexString(offset) + " (+" + bytes + " bytes)",
                    "inside the file (" + fileSize + " bytes)");
        }
    }

    private static String string(byte[] data) {
        return new String(data, StandardCharsets.UTF_8);
    }

    /** Encodes the whole header cluster; fails if it does not fit in one cluster. */
    public byte[] encode() {
        int clusterSize = clusterSize();
        ByteBuffer b = ByteBuffer.allocate(clusterSize).order(ByteOrder.BIG_ENDIAN);
        int length = version == 2 ? V2_HEADER_LENGTH : V3_HEADER_LENGTH + extraHeaderBytes.length;
        b.putInt(0, MAGIC).putInt(4, version);
        b.putInt(20, clusterBits).putLong(24, size).putInt(32, cryptMethod);
        b.putInt(36, l1Size).putLong(40, l1TableOffset);
        b.putLong(48, refcountTableOffset).putInt(56, refcountTableClusters);
        b.putInt(60, nbSnapshots).putLong(64, snapshotsOffset);
        if (version == 3) {
            b.putLong(72, incompatibleFeatures).putLong(80, compatibleFeatures).putLong(88, autoclearFeatures);
            b.putInt(96, refcountOrder).putInt(100, length);
            b.put(104, (byte) compressionType);
            b.put(V3_HEADER_LENGTH, extraHeaderBytes);
        }
        int at = length;
        List<HeaderExtension> extensions = new ArrayList<>();
        if (backingFormat != null) {
            extensions.add(new HeaderExtension(HeaderExtension.BACKING_FORMAT, bytes(backingFormat)));
        }
        if (dataFile != null) {
            extensions.add(new HeaderExtension(HeaderExtension.DATA_FILE, bytes(dataFile)));
        }
        if (version == 3 && clusterSize > 4096) {
            byte[] table = new byte[Features.TABLE.size() * 48];
            for (int i = 0; i < Features.TABLE.size(); i++) {
                Features.FeatureName f = Features.TABLE.get(i);
                table[i * 48] = (byte) f.type();
                table[i * 48 + 1] = (byte) f.bit();
                byte[] name = bytes(f.name());
                System.arraycopy(name, 0, table, i * 48 + 2, name.length);
            }
            extensions.add(new HeaderExtension(HeaderExtension.FEATURE_TABLE, table));
        }
        extensions.addAll(preservedExtensions);
        byte[] backingName = backingFile == null ? new byte[0] : bytes(backingFile);
        int needed = at + extensions.stream().mapToInt(HeaderExtension::encodedLength).sum() + 8 + backingName.length;
        if (needed > clusterSize) {
            throw new IllegalStateException("header with its extensions needs " + needed
                    + " bytes, more than the cluster size " + clusterSize);
        }
        for (HeaderExtension e : extensions) {
            byte[] data = e.data();
            b.putInt(at, e.type()).putInt(at + 4, data.length);
            b.put(at + 8, data);
            at += e.encodedLength();
        }
        at += 8; // end-of-extensions marker: type 0, length 0
        if (backingFile != null) {
            b.putLong(8, at).putInt(16, backingName.length);
            b.put(at, backingName);
        }
        return b.array();
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
