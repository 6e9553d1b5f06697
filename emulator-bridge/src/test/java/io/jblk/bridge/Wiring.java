package io.jblk.bridge;

/**
 * How a test emulator wires the device: guest RAM as {@link MemoryKind#SEGMENT segments} (zero-copy) or behind
 * {@link MemoryKind#COPYING copy-only accessors}, and threaded or polled delivery. The guest-driver suite runs over
 * both memory kinds; the polled wirings serve the tests of the single-threaded mode.
 */
enum Wiring {
    SEGMENT(MemoryKind.SEGMENT, false),
    COPYING(MemoryKind.COPYING, false),
    POLLED_SEGMENT(MemoryKind.SEGMENT, true),
    POLLED_COPYING(MemoryKind.COPYING, true);

    enum MemoryKind { SEGMENT, COPYING }

    final MemoryKind memory;
    final boolean polled;

    Wiring(MemoryKind memory, boolean polled) {
        this.memory = memory;
        this.polled = polled;
    }
}
