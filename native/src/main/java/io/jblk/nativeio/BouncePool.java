package io.jblk.nativeio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Page-aligned bounce buffers for requests the kernel cannot take as they are: unaligned O_DIRECT requests and heap
 * segments (which have no stable native address). Taking never blocks, because bounce work may run while other
 * requests wait for it; a few buffers are kept for reuse, the rest are left to the garbage collector (auto arena),
 * which cannot free one while the thread using it still holds it.
 */
final class BouncePool {
    /** Bounce buffer size: the unit in which large unaligned requests are split. */
    static final int CHUNK = 1 << 20;
    static final int PAGE = 4096;
    private static final int KEEP = 16;

    private static final ConcurrentLinkedDeque<MemorySegment> FREE = new ConcurrentLinkedDeque<>();
    private static final AtomicInteger FREE_COUNT = new AtomicInteger();

    private BouncePool() {
    }

    static MemorySegment take() {
        MemorySegment s = FREE.pollFirst();
        if (s != null) {
            FREE_COUNT.decrementAndGet();
            return s;
        }
        return Arena.ofAuto().allocate(CHUNK, PAGE);
    }

    static void give(MemorySegment s) {
        if (FREE_COUNT.incrementAndGet() <= KEEP) {
            FREE.addFirst(s);
        } else {
            FREE_COUNT.decrementAndGet();
        }
    }

    /** A shared, never-written page-aligned buffer of zeros, CHUNK bytes long. */
    static final MemorySegment ZEROS = Arena.global().allocate(CHUNK, PAGE);
}
