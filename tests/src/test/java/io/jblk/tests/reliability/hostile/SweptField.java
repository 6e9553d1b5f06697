package io.jblk.tests.reliability.hostile;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * One field of a qcow2 image that names an offset or a count, as the resource-bound sweep sees it: where it is in
 * a generated base image, how wide it is, what alignment its valid values have, and bits to keep set in every
 * value (the COPIED or COMPRESSED flag of a table entry, so the extreme value reaches the offset part of it).
 *
 * @param name      what the field is, for reports ({@code "L1 entry 0 (COPIED kept)"})
 * @param base      the valid image it is damaged in
 * @param baseName  a short name of that image, for reports and file names
 * @param offset    byte offset of the field in the image
 * @param width     bytes, big-endian
 * @param alignment what valid values are a multiple of (the cluster size for offsets, 1 for counts)
 * @param keepBits  bits ORed into every swept value
 */
record SweptField(String name, Qcow2Image base, String baseName, long offset, int width, long alignment,
                  long keepBits) {

    /** The value the base image holds. */
    long original() {
        return Bytes.get(base.bytes(), offset, width);
    }

    /**
     * The extreme values of this field: 0, 1, one past the valid value, unaligned (for offsets), just past the end of
     * the file, 2^k for large k, the largest signed and unsigned values of its width. Each fits the width and carries
     * {@link #keepBits}; the valid value itself is left out. {@code full} adds one below the valid value, one cluster
     * past the end of the file and more powers of two.
     */
    List<Long> extremeValues(boolean full) {
        long fileSize = base.bytes().length;
        long cluster = base.clusterSize();
        long pastEnd = (fileSize + cluster - 1) / cluster * cluster;
        long original = original();
        Set<Long> values = new LinkedHashSet<>(List.of(0L, 1L, original + 1, pastEnd));
        if (alignment > 512) {
            values.add(original + 0x200);
        }
        int[] powers = full ? new int[] {9, 16, 24, 31, 32, 40, 45, 54, 56, 62, 63} : new int[] {16, 31, 32, 45, 54, 63};
        if (full) {
            values.add(original - 1);
            values.add(pastEnd + cluster);
        }
        for (int k : powers) {
            if (k < width * 8) {
                values.add(1L << k);
            }
        }
        long allOnes = width == 8 ? -1L : (1L << (width * 8)) - 1;
        values.add(allOnes);
        values.add(allOnes >>> 1);
        List<Long> out = new ArrayList<>();
        for (long v : values) {
            long value = (v & allOnes) | keepBits;
            if (value != original && !out.contains(value)) {
                out.add(value);
            }
        }
        return out;
    }

    /** The base image with this field set to {@code value}. */
    byte[] imageWith(long value) {
        byte[] bytes = base.copyBytes();
        Bytes.put(bytes, offset, width, value);
        return bytes;
    }
}
