package io.jblk.bridge;

import java.lang.foreign.MemorySegment;

/**
 * A range of guest memory checked once against {@link GuestMemory#contains} and then read and written field by
 * field (little-endian): in place when the memory offers a direct segment for it, else by small copies through
 * {@link GuestMemory#read} and {@link GuestMemory#write}. Rings and descriptor tables are accessed through one.
 */
final class GuestRange {
    private final GuestMemory memory;
    private final long address;
    private final long length;
    private final MemorySegment direct; // null: copy through memory

    private GuestRange(GuestMemory memory, long address, long length, MemorySegment direct) {
        this.memory = memory;
        this.address = address;
        this.length = length;
        this.direct = direct;
    }

    /**
     * Checks {@code [address, address + length)} and binds to it.
     *
     * @throws GuestMemoryException when the range is not wholly guest RAM (or wraps, or has a negative length)
     */
    static GuestRange of(GuestMemory memory, long address, long length) throws GuestMemoryException {
        check(memory, address, length);
        MemorySegment direct = length == 0 ? null : memory.direct(address, length);
        if (direct != null && direct.byteSize() != length) {
            throw new IllegalStateException("GuestMemory.direct(0x" + Long.toHexString(address) + ", " + length
                    + ") returned " + direct.byteSize() + " bytes");
        }
        return new GuestRange(memory, address, length, direct);
    }

    /**
     * Throws unless {@code [address, address + length)} is guest RAM; an empty range needs only a non-negative
     * address. Guest addresses are unsigned 64-bit values: those past 2^63 are never RAM.
     */
    static void check(GuestMemory memory, long address, long length) throws GuestMemoryException {
        if (length < 0) {
            throw new GuestMemoryException(address, length, "has a negative length");
        }
        if (address < 0 || address + length < 0) {
            throw new GuestMemoryException(address, length, "is outside guest RAM (beyond 2^63)");
        }
        if (length > 0 && !memory.contains(address, length)) {
            throw new GuestMemoryException(address, length, "is outside guest RAM");
        }
    }

    long address() {
        return address;
    }

    long length() {
        return length;
    }

    /** The range as host memory, or null when it is reached by copies. */
    MemorySegment direct() {
        return direct;
    }

    int u16(long offset) {
        if (direct != null) {
            return Short.toUnsignedInt(direct.get(LittleEndian.U16, offset));
        }
        return Short.toUnsignedInt(copyIn(offset, 2).get(LittleEndian.U16, 0));
    }

    int u32(long offset) {
        if (direct != null) {
            return direct.get(LittleEndian.U32, offset);
        }
        return copyIn(offset, 4).get(LittleEndian.U32, 0);
    }

    void setU16(long offset, int value) {
        if (direct != null) {
            direct.set(LittleEndian.U16, offset, (short) value);
        } else {
            MemorySegment s = MemorySegment.ofArray(new byte[2]);
            s.set(LittleEndian.U16, 0, (short) value);
            memory.write(address + offset, s);
        }
    }

    void setU32(long offset, int value) {
        if (direct != null) {
            direct.set(LittleEndian.U32, offset, value);
        } else {
            MemorySegment s = MemorySegment.ofArray(new byte[4]);
            s.set(LittleEndian.U32, 0, value);
            memory.write(address + offset, s);
        }
    }

    /** Bytes {@code [offset, offset + length)} of the range: a view when direct, else a private copy. */
    MemorySegment bytes(long offset, long length) {
        return direct != null ? direct.asSlice(offset, length) : copyIn(offset, length);
    }

    private MemorySegment copyIn(long offset, long n) {
        if (offset < 0 || n > length - offset) {
            throw new IndexOutOfBoundsException("offset " + offset + " + " + n + " outside a guest range of "
                    + length + " bytes");
        }
        MemorySegment s = MemorySegment.ofArray(new byte[(int) n]);
        memory.read(address + offset, s);
        return s;
    }

    @Override
    public String toString() {
        return "guest [0x" + Long.toHexString(address) + ", +" + length + ")" + (direct != null ? " direct" : "");
    }
}
