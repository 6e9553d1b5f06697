package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * Guest RAM the way an emulator that keeps it behind its own accessors offers it: bounds checks and bulk copies
 * only, never a {@link MemorySegment} of guest RAM ({@link #direct} stays null), so the device must stage every
 * buffer and access every ring field by copying. Counts the copies, so tests can tell the copy path ran.
 */
final class CopyingGuestMemory implements GuestMemory {
    private final List<Region> regions;
    final java.util.concurrent.atomic.AtomicLong reads = new java.util.concurrent.atomic.AtomicLong();
    final java.util.concurrent.atomic.AtomicLong writes = new java.util.concurrent.atomic.AtomicLong();

    CopyingGuestMemory(List<Region> regions) {
        this.regions = List.copyOf(regions);
    }

    CopyingGuestMemory(long base, MemorySegment ram) {
        this(List.of(new Region(base, ram)));
    }

    private Region regionOf(long address, long length) {
        for (Region r : regions) {
            long offset = address - r.base();
            if (offset >= 0 && offset < r.memory().byteSize() && length <= r.memory().byteSize() - offset) {
                return r;
            }
        }
        return null;
    }

    @Override
    public boolean contains(long address, long length) {
        return regionOf(address, length) != null;
    }

    @Override
    public void read(long address, MemorySegment into) {
        Region r = checked(address, into.byteSize());
        reads.incrementAndGet();
        MemorySegment.copy(r.memory(), address - r.base(), into, 0, into.byteSize());
    }

    @Override
    public void write(long address, MemorySegment from) {
        Region r = checked(address, from.byteSize());
        writes.incrementAndGet();
        MemorySegment.copy(from, 0, r.memory(), address - r.base(), from.byteSize());
    }

    private Region checked(long address, long length) {
        Region r = regionOf(address, length);
        if (r == null) {
            throw new IndexOutOfBoundsException("the device accessed [0x" + Long.toHexString(address) + ", +"
                    + length + ") without checking it");
        }
        return r;
    }
}
