package io.jblk.vhost;

import io.jblk.bridge.GuestMemory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The front-end's guest RAM as currently mapped: an immutable list of {@link MemoryRegion}s with no two overlapping
 * in guest-physical or in user address. Holds both address maps: guest-physical addresses (descriptors) resolve
 * through {@link #guestMemory()}, the front-end's user addresses (ring addresses) through {@link #guestOf}.
 * Changes make a new table; the session unmaps regions only after the rings using them stopped.
 */
final class MemoryTable {
    static final MemoryTable EMPTY = new MemoryTable(List.of());

    private final List<MemoryRegion> regions;
    private final GuestMemory guestMemory;

    private MemoryTable(List<MemoryRegion> regions) {
        List<MemoryRegion> sorted = new ArrayList<>(regions);
        sorted.sort(Comparator.comparingLong(r -> r.guestAddress));
        this.regions = List.copyOf(sorted);
        this.guestMemory = sorted.isEmpty() ? null : GuestMemory.of(sorted.stream()
                .map(r -> new GuestMemory.Region(r.guestAddress, r.memory())).toList());
    }

    List<MemoryRegion> regions() {
        return regions;
    }

    boolean isEmpty() {
        return regions.isEmpty();
    }

    /** Guest-physical view for the virtqueue code; null while no memory was given. */
    GuestMemory guestMemory() {
        return guestMemory;
    }

    /** Why {@code d} cannot join this table (invalid numbers, overlap), or null when it can. */
    String conflict(MemoryRegion.Description d) {
        String invalid = d.invalidReason();
        if (invalid != null) {
            return invalid;
        }
        for (MemoryRegion r : regions) {
            if (r.overlapsGuest(d)) {
                return "guest range overlaps the region " + r;
            }
            if (r.overlapsUser(d)) {
                return "user range overlaps the region " + r;
            }
        }
        return null;
    }

    MemoryTable with(MemoryRegion region) {
        String conflict = conflict(region.description());
        if (conflict != null) {
            throw new IllegalArgumentException(conflict);
        }
        List<MemoryRegion> next = new ArrayList<>(regions);
        next.add(region);
        return new MemoryTable(next);
    }

    /** The region with the same guest address, user address and size as {@code d}, or null. */
    MemoryRegion find(MemoryRegion.Description d) {
        return regions.stream().filter(r -> r.description().sameRange(d)).findFirst().orElse(null);
    }

    MemoryTable without(MemoryRegion region) {
        List<MemoryRegion> next = new ArrayList<>(regions);
        next.remove(region);
        return new MemoryTable(next);
    }

    /**
     * The guest-physical address of the front-end's user range {@code [address, address + length)}, which must lie
     * inside one region; -1 when it does not.
     */
    long guestOf(long userAddress, long length) {
        for (MemoryRegion r : regions) {
            if (r.containsUser(userAddress, length)) {
                return r.guestAddress + (userAddress - r.userAddress);
            }
        }
        return -1;
    }

    @Override
    public String toString() {
        return regions.toString();
    }
}
