package io.jblk.qcow2.io;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * Reusable native buffers for copy-on-write data. A heap array would be zeroed on allocation, then copied through a
 * bounce buffer on the way in from the backing file and again on the way out to the image (the kernel cannot take
 * heap memory); native memory goes to pread and pwritev as it is. Buffers come in power-of-two sizes, page-aligned; a
 * few of each size are kept, the rest are left to the garbage collector (automatic arena), so taking never blocks.
 */
final class CowBuffers {
    private static final int MIN_BITS = 12;
    private static final int PAGE = 1 << MIN_BITS;
    private static final int KEEP = 16;

    private final ConcurrentLinkedDeque<MemorySegment>[] free;
    private final AtomicIntegerArray counts;

    @SuppressWarnings("unchecked")
    CowBuffers(int maxBytes) {
        int classes = sizeClass(maxBytes) + 1;
        free = new ConcurrentLinkedDeque[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ConcurrentLinkedDeque<>();
        }
        counts = new AtomicIntegerArray(classes);
    }

    private static int sizeClass(int bytes) {
        int bits = 32 - Integer.numberOfLeadingZeros(Math.max(bytes, PAGE) - 1);
        return bits - MIN_BITS;
    }

    /** A buffer of at least {@code bytes} bytes (contents undefined); hand it back whole with {@link #give}. */
    MemorySegment take(int bytes) {
        int c = sizeClass(bytes);
        MemorySegment s = free[c].pollFirst();
        if (s == null) {
            return Arena.ofAuto().allocate(1L << (c + MIN_BITS), PAGE);
        }
        counts.decrementAndGet(c);
        return s;
    }

    /** Returns a buffer from {@link #take} once no I/O uses it any more. */
    void give(MemorySegment buffer) {
        int c = sizeClass((int) buffer.byteSize());
        if (counts.incrementAndGet(c) <= KEEP) {
            free[c].addFirst(buffer);
        } else {
            counts.decrementAndGet(c);
        }
    }
}
