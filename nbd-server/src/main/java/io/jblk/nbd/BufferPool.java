package io.jblk.nbd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;

/**
 * Payload buffers of one connection. Closing a shared arena per request costs a handshake with every thread of
 * the JVM, which dominated small requests; small buffers therefore come from one connection-long arena and are
 * reused. The pooled memory is capped: past the cap, and for large payloads, a buffer gets its own arena.
 */
final class BufferPool implements AutoCloseable {
    static final int MIN_CLASS = 4096;
    static final int MAX_POOLED = 256 << 10;
    /** Native memory the pool may ever take from its arena (it is only returned when the connection ends). */
    static final long POOL_CAP = 16L << 20;
    private static final long ALIGNMENT = 4096;
    private static final int CLASSES = Integer.numberOfTrailingZeros(MAX_POOLED / MIN_CLASS) + 1;

    /** A buffer of exactly the requested length; {@link #release} returns it. */
    record Buffer(MemorySegment segment, MemorySegment whole, Arena own, int sizeClass) {
    }

    private final Arena arena = Arena.ofShared();
    @SuppressWarnings("unchecked")
    private final ArrayDeque<MemorySegment>[] free = new ArrayDeque[CLASSES];
    private long allocated;
    private boolean closed;

    BufferPool() {
        for (int i = 0; i < CLASSES; i++) {
            free[i] = new ArrayDeque<>();
        }
    }

    Buffer take(long length) {
        if (length <= MAX_POOLED) {
            int c = sizeClass(length);
            long size = (long) MIN_CLASS << c;
            synchronized (this) {
                if (!closed) {
                    MemorySegment s = free[c].pollFirst();
                    if (s == null && allocated + size <= POOL_CAP) {
                        s = arena.allocate(size, ALIGNMENT);
                        allocated += size;
                    }
                    if (s != null) {
                        return new Buffer(s.asSlice(0, length), s, null, c);
                    }
                }
            }
        }
        Arena own = Arena.ofShared();
        try {
            return new Buffer(own.allocate(length, ALIGNMENT), null, own, -1);
        } catch (RuntimeException | Error e) {
            own.close();
            throw e;
        }
    }

    void release(Buffer b) {
        if (b.own() != null) {
            b.own().close();
            return;
        }
        synchronized (this) {
            if (!closed) {
                free[b.sizeClass()].addFirst(b.whole());
            }
        }
    }

    private static int sizeClass(long length) {
        long n = Math.max(length, MIN_CLASS);
        return 64 - Long.numberOfLeadingZeros(n - 1) - Integer.numberOfTrailingZeros(MIN_CLASS);
    }

    /** Frees the pooled memory; call only once no request holds a pooled buffer. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            arena.close();
        }
    }
}
