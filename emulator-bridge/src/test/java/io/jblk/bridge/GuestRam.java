package io.jblk.bridge;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Test guest RAM: one region at a non-zero guest-physical base, with a bump allocator for guest structures. The guest
 * driver reaches it through {@link #at}; the device through {@link #memory}.
 */
final class GuestRam implements AutoCloseable {
    static final long BASE = 0x4000_0000L;

    private final Arena arena = Arena.ofShared();
    final MemorySegment ram;
    final GuestMemory memory;
    private long next;

    GuestRam(long size) {
        this(size, Wiring.MemoryKind.SEGMENT);
    }

    /** @param kind how the device reaches this RAM: as a segment (zero-copy) or through copies only */
    GuestRam(long size, Wiring.MemoryKind kind) {
        ram = arena.allocate(size, 4096);
        memory = kind == Wiring.MemoryKind.SEGMENT ? GuestMemory.of(BASE, ram) : new CopyingGuestMemory(BASE, ram);
    }

    /** RAM the emulator already has: the guest driver writes {@code ram}, the device reaches it as {@code memory}. */
    GuestRam(MemorySegment ram, GuestMemory memory) {
        this.ram = ram;
        this.memory = memory;
    }

    /** Allocates {@code size} bytes aligned to {@code align}; returns the guest-physical address. */
    synchronized long alloc(long size, long align) {
        next = (next + align - 1) / align * align;
        long at = next;
        next += size;
        if (next > ram.byteSize()) {
            throw new IllegalStateException("test guest RAM exhausted");
        }
        return BASE + at;
    }

    private final java.util.Map<Long, java.util.concurrent.ConcurrentLinkedQueue<Long>> pools =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** A reusable block of at least {@code size} bytes (power-of-two classes, 512-aligned); see {@link #free}. */
    long allocPooled(long size) {
        long cls = classOf(size);
        Long a = pools.computeIfAbsent(cls, c -> new java.util.concurrent.ConcurrentLinkedQueue<>()).poll();
        return a != null ? a : alloc(cls, Math.min(cls, 4096));
    }

    void free(long gpa, long size) {
        pools.get(classOf(size)).add(gpa);
    }

    private static long classOf(long size) {
        return Math.max(512, Long.highestOneBit(Math.max(1, size - 1)) << 1);
    }

    /** The part of RAM the guest has allocated so far (everything the device can have been given), host view. */
    synchronized MemorySegment allocated() {
        return ram.asSlice(0, next);
    }

    /** The host view of guest-physical {@code [gpa, gpa+len)}. */
    MemorySegment at(long gpa, long len) {
        return ram.asSlice(gpa - BASE, len);
    }

    @Override
    public void close() {
        arena.close();
    }
}
