package io.jblk.bridge;

import java.lang.foreign.MemorySegment;

/**
 * One split-virtqueue descriptor: {@code addr u64, len u32, flags u16, next u16}, 16 bytes, little-endian. This
 * record is the only place that knows the layout.
 */
public record Descriptor(long address, int length, int flags, int next) {
    public static final int SIZE = 16;
    public static final int F_NEXT = 1;
    public static final int F_WRITE = 2;
    public static final int F_INDIRECT = 4;

    /** Reads entry {@code index} of a descriptor table held in {@code table} (guest-side code and tests). */
    public static Descriptor read(MemorySegment table, int index) {
        long at = (long) index * SIZE;
        return new Descriptor(table.get(LittleEndian.U64, at), table.get(LittleEndian.U32, at + 8),
                Short.toUnsignedInt(table.get(LittleEndian.U16, at + 12)),
                Short.toUnsignedInt(table.get(LittleEndian.U16, at + 14)));
    }

    /** Reads entry {@code index} of a descriptor table in guest memory; the caller has bounds-checked the index. */
    static Descriptor read(GuestRange table, int index) {
        MemorySegment direct = table.direct();
        return direct != null ? read(direct, index) : read(table.bytes((long) index * SIZE, SIZE), 0);
    }

    /** Writes this descriptor as entry {@code index} of a table (used by guest-side code and tests). */
    public void write(MemorySegment table, int index) {
        long at = (long) index * SIZE;
        table.set(LittleEndian.U64, at, address);
        table.set(LittleEndian.U32, at + 8, length);
        table.set(LittleEndian.U16, at + 12, (short) flags);
        table.set(LittleEndian.U16, at + 14, (short) next);
    }

    /** The length as the unsigned 32-bit value the guest wrote. */
    public long unsignedLength() {
        return Integer.toUnsignedLong(length);
    }

    public boolean hasNext() {
        return (flags & F_NEXT) != 0;
    }

    public boolean isWrite() {
        return (flags & F_WRITE) != 0;
    }

    public boolean isIndirect() {
        return (flags & F_INDIRECT) != 0;
    }
}
