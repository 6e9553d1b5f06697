package io.jblk.qcow2.format;

import io.jblk.api.ImageFormatException;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One internal snapshot's table entry. jblk reads and validates snapshots (their L1 and L2 tables are metadata, and
 * their clusters are shared with the active image) but does not create or apply them.
 */
public record Snapshot(long l1TableOffset, int l1Size, String id, String name, long dateSeconds,
                       long dateNanoseconds, long vmClockNanoseconds, long vmStateSize, long diskSize, long icount,
                       int extraDataSize) {
    /** QEMU's limit on the sum of snapshot table entry sizes. */
    public static final long MAX_TABLE_BYTES = 64L << 20;
    /** Extra data every version 3 entry must have: vm_state_size_large and disk_size. */
    public static final int V3_EXTRA_DATA = 16;
    private static final int FIXED_PART = 40;

    /** A version 3 entry without the extra data version 3 requires (QEMU's check: "entry is incomplete"). */
    public boolean isIncomplete(int version) {
        return version >= 3 && extraDataSize < V3_EXTRA_DATA;
    }

    /** Parses {@code count} entries from the table bytes, validating every offset against the image. */
    public static List<Snapshot> parseTable(byte[] table, int count, int clusterBits, long fileSize, long imageSize)
            throws ImageFormatException {
        ByteBuffer b = ByteBuffer.wrap(table);
        List<Snapshot> out = new ArrayList<>(count);
        int at = 0;
        for (int i = 0; i < count; i++) {
            if (at + FIXED_PART > table.length) {
                throw ImageFormatException.field("snapshot table", "entry " + i + " at byte " + at,
                        "to fit in the table of " + table.length + " bytes");
            }
            long l1Offset = b.getLong(at);
            long l1Size = Integer.toUnsignedLong(b.getInt(at + 8));
            int idLength = b.getShort(at + 12) & 0xffff;
            int nameLength = b.getShort(at + 14) & 0xffff;
            long seconds = Integer.toUnsignedLong(b.getInt(at + 16));
            long nanos = Integer.toUnsignedLong(b.getInt(at + 20));
            long vmClock = b.getLong(at + 24);
            long vmState = Integer.toUnsignedLong(b.getInt(at + 32));
            long extraSize = Integer.toUnsignedLong(b.getInt(at + 36));
            long entryEnd = at + FIXED_PART + extraSize + idLength + nameLength;
            if (extraSize > 1024 || entryEnd > table.length) {
                throw ImageFormatException.field("snapshot " + i + " extra_data_size", extraSize,
                        "an entry that fits in the snapshot table");
            }
            int extra = at + FIXED_PART;
            long diskSize = imageSize;
            if (extraSize >= 8) {
                vmState = b.getLong(extra);
            }
            if (extraSize >= 16) {
                diskSize = b.getLong(extra + 8);
            }
            long icount = extraSize >= 24 ? b.getLong(extra + 16) : -1; // -1: not recorded (QEMU's "no icount")
            if (l1Size * 8 > Qcow2Header.MAX_L1_BYTES) {
                throw ImageFormatException.field("snapshot " + i + " l1_size", l1Size, "at most "
                        + Qcow2Header.MAX_L1_BYTES / 8);
            }
            if (l1Offset < 0 || (l1Offset & ((1L << clusterBits) - 1)) != 0 || l1Offset > fileSize
                    || l1Size * 8 > fileSize - l1Offset) {
                throw ImageFormatException.field("snapshot " + i + " L1 table offset", "0x"
                        + Long.toHexString(l1Offset), "cluster aligned and inside the file");
            }
            int strings = (int) (extra + extraSize);
            String id = new String(table, strings, idLength, StandardCharsets.UTF_8);
            String name = new String(table, strings + idLength, nameLength, StandardCharsets.UTF_8);
            out.add(new Snapshot(l1Offset, (int) l1Size, id, name, seconds, nanos, vmClock, vmState, diskSize, icount,
                    (int) extraSize));
            at = (int) ((entryEnd + 7) & ~7L);
        }
        return out;
    }
}
