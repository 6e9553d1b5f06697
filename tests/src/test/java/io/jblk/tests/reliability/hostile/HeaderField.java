package io.jblk.tests.reliability.hostile;

import java.util.Locale;

/**
 * The qcow2 header fields (docs/interop/qcow2.txt, version 3 with the compression-type byte): byte offset and width,
 * big-endian. The one place the test generator knows the header layout.
 */
public enum HeaderField {
    MAGIC(0, 4), VERSION(4, 4), BACKING_FILE_OFFSET(8, 8), BACKING_FILE_SIZE(16, 4), CLUSTER_BITS(20, 4), SIZE(24, 8),
    CRYPT_METHOD(32, 4), L1_SIZE(36, 4), L1_TABLE_OFFSET(40, 8), REFCOUNT_TABLE_OFFSET(48, 8),
    REFCOUNT_TABLE_CLUSTERS(56, 4), NB_SNAPSHOTS(60, 4), SNAPSHOTS_OFFSET(64, 8), INCOMPATIBLE_FEATURES(72, 8),
    COMPATIBLE_FEATURES(80, 8), AUTOCLEAR_FEATURES(88, 8), REFCOUNT_ORDER(96, 4), HEADER_LENGTH(100, 4),
    COMPRESSION_TYPE(104, 1);

    /** Length of a v3 header with the compression-type byte, padded to 8. */
    public static final int V3_LENGTH = 112;
    public static final int MAGIC_VALUE = 0x514649fb;

    public final int offset;
    public final int width;

    HeaderField(int offset, int width) {
        this.offset = offset;
        this.width = width;
    }

    /** The spec's name: {@code l1_table_offset}. */
    public String specName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
