package io.jblk.qcow2.format;

import java.util.ArrayList;
import java.util.List;

/** The feature bits of the v3 header and their names as QEMU writes them in the feature-name table. */
public final class Features {
    public static final long INCOMPAT_DIRTY = 1L;
    public static final long INCOMPAT_CORRUPT = 1L << 1;
    public static final long INCOMPAT_DATA_FILE = 1L << 2;
    public static final long INCOMPAT_COMPRESSION = 1L << 3;
    public static final long INCOMPAT_EXTENDED_L2 = 1L << 4;
    public static final long INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE
            | INCOMPAT_COMPRESSION | INCOMPAT_EXTENDED_L2;

    public static final long COMPAT_LAZY_REFCOUNTS = 1L;

    public static final long AUTOCLEAR_BITMAPS = 1L;
    public static final long AUTOCLEAR_DATA_FILE_RAW = 1L << 1;
    public static final long AUTOCLEAR_KNOWN = AUTOCLEAR_BITMAPS | AUTOCLEAR_DATA_FILE_RAW;

    /** Feature kinds as numbered in the feature-name table. */
    public static final int TYPE_INCOMPATIBLE = 0;
    public static final int TYPE_COMPATIBLE = 1;
    public static final int TYPE_AUTOCLEAR = 2;

    /** The table jblk writes, in QEMU's order. */
    public static final List<FeatureName> TABLE = List.of(
            new FeatureName(TYPE_INCOMPATIBLE, 0, "dirty bit"),
            new FeatureName(TYPE_INCOMPATIBLE, 1, "corrupt bit"),
            new FeatureName(TYPE_INCOMPATIBLE, 2, "external data file"),
            new FeatureName(TYPE_INCOMPATIBLE, 3, "compression type"),
            new FeatureName(TYPE_INCOMPATIBLE, 4, "extended L2 entries"),
            new FeatureName(TYPE_COMPATIBLE, 0, "lazy refcounts"),
            new FeatureName(TYPE_AUTOCLEAR, 0, "bitmaps"),
            new FeatureName(TYPE_AUTOCLEAR, 1, "raw external data"));

    private Features() {
    }

    /** One entry of the feature-name table. */
    public record FeatureName(int type, int bit, String name) {
    }

    /**
     * Describes unknown incompatible bits the way QEMU does: names from the image's own feature table where it has
     * them, and the remaining mask in hex.
     */
    public static String describeUnknownIncompatible(long unknown, List<FeatureName> imageTable) {
        List<String> names = new ArrayList<>();
        long unnamed = unknown;
        for (FeatureName f : imageTable) {
            if (f.type() == TYPE_INCOMPATIBLE && f.bit() < 64 && (unknown & (1L << f.bit())) != 0) {
                names.add(f.name());
                unnamed &= ~(1L << f.bit());
            }
        }
        if (unnamed != 0) {
            names.add("Unknown incompatible feature: " + Long.toHexString(unnamed));
        }
        return String.join(", ", names);
    }
}
