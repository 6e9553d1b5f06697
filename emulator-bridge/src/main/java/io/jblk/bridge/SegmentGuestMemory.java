package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Guest RAM made of {@link MemorySegment} regions: every range inside one region is direct (zero-copy); a range
 * straddling two regions is refused, since one segment cannot describe it.
 */
final class SegmentGuestMemory implements GuestMemory {
    private final Region[] regions;

    SegmentGuestMemory(List<Region> regions) {
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

    /** The region holding all of {@code [address, address + length)}, or null. */
    private Region regionOf(long address, long length) {
        for (Region r : regions) {
            if (address >= r.base() && address < r.end()) {
                return length <= r.end() - address ? r : null;
            }
        }
        return null;
    }

    @Override
    public boolean contains(long address, long length) {
        return regionOf(address, length) != null;
    }

    @Override
    public MemorySegment direct(long address, long length) {
        Region r = regionOf(address, length);
        if (r == null) {
            throw new IndexOutOfBoundsException("guest range [0x" + Long.toHexString(address) + ", +" + length
                    + ") is outside guest RAM");
        }
        return r.memory().asSlice(address - r.base(), length);
    }

    @Override
    public void read(long address, MemorySegment into) {
        MemorySegment.copy(direct(address, into.byteSize()), 0, into, 0, into.byteSize());
    }

    @Override
    public void write(long address, MemorySegment from) {
        MemorySegment.copy(from, 0, direct(address, from.byteSize()), 0, from.byteSize());
    }

    List<Region> regions() {
        return List.of(regions);
    }
}
