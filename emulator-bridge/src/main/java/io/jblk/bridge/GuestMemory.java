package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The emulator's guest RAM as the device sees it: {@link MemorySegment} regions mapped at guest-physical addresses.
 *
 * <p>Every access is bounds-checked against the regions; a range that is not wholly inside one region fails with
 * {@link GuestMemoryException} (a device error the caller turns into a request status), never with an unchecked
 * exception. All virtio fields are little-endian, whatever the host order.
 */
public final class GuestMemory {
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** One guest RAM region: guest-physical {@code base}, backed by {@code memory}. */
    public record Region(long base, MemorySegment memory) {
        public Region {
            if (base < 0 || memory.byteSize() == 0 || base + memory.byteSize() < base) {
                throw new IllegalArgumentException("bad guest region at 0x" + Long.toHexString(base) + " of "
                        + memory.byteSize() + " bytes");
            }
        }

        long end() {
            return base + memory.byteSize();
        }
    }

    private final Region[] regions;

    private GuestMemory(List<Region> regions) {
        List<Region> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(Region::base));
        for (int i = 1; i < sorted.size(); i++) {
            if (sorted.get(i).base() < sorted.get(i - 1).end()) {
                throw new IllegalArgumentException("guest regions overlap at 0x"
                        + Long.toHexString(sorted.get(i).base()));
            }
        }
        this.regions = sorted.toArray(Region[]::new);
    }

    public static GuestMemory of(List<Region> regions) {
        return new GuestMemory(regions);
    }

    /** A single region of guest RAM starting at guest-physical {@code base}. */
    public static GuestMemory of(long base, MemorySegment memory) {
        return new GuestMemory(List.of(new Region(base, memory)));
    }

    public List<Region> regions() {
        return List.of(regions);
    }

    /** The guest range {@code [address, address+length)} as a slice of host memory; no copy. */
    public MemorySegment slice(long address, long length) throws GuestMemoryException {
        if (length < 0) {
            throw new GuestMemoryException(address, length, "has a negative length");
        }
        for (Region r : regions) {
            if (address >= r.base() && address < r.end()) {
                if (length > r.end() - address) {
                    throw new GuestMemoryException(address, length, "runs past the end of the guest RAM region at 0x"
                            + Long.toHexString(r.base()) + " (size " + r.memory().byteSize() + ")");
                }
                return r.memory().asSlice(address - r.base(), length);
            }
        }
        if (length == 0 && address >= 0) {
            return MemorySegment.NULL;
        }
        throw new GuestMemoryException(address, length, "is outside guest RAM");
    }

    public int readU16(long address) throws GuestMemoryException {
        return Short.toUnsignedInt(slice(address, 2).get(U16, 0));
    }

    public int readU32(long address) throws GuestMemoryException {
        return slice(address, 4).get(U32, 0);
    }

    public long readU64(long address) throws GuestMemoryException {
        return slice(address, 8).get(U64, 0);
    }

    public void writeU8(long address, int value) throws GuestMemoryException {
        slice(address, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) value);
    }

    public void writeU16(long address, int value) throws GuestMemoryException {
        slice(address, 2).set(U16, 0, (short) value);
    }

    public void writeU32(long address, int value) throws GuestMemoryException {
        slice(address, 4).set(U32, 0, value);
    }

    public void writeU64(long address, long value) throws GuestMemoryException {
        slice(address, 8).set(U64, 0, value);
    }
}
