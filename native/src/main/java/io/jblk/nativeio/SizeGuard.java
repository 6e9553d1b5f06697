package io.jblk.nativeio;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.StampedLock;

/**
 * Keeps operations that change the file size from undoing each other. Writes inside the known size take no lock.
 * Operations that only ever grow the file (pwrite, fallocate without KEEP_SIZE) share the lock; operations that set the
 * size with ftruncate (truncate, an O_DIRECT write padded past end of file and trimmed back, a punched hole extended)
 * hold it exclusively, because an ftruncate computed from a stale size could cut off a concurrent extending write.
 * A {@link StampedLock} because stamps may be released by the thread that completes the I/O.
 */
final class SizeGuard {
    private final StampedLock lock = new StampedLock();
    /** Never above the real size while no ftruncate shrinks it: a lower bound for "this write extends nothing". */
    private final AtomicLong known;

    SizeGuard(long initialSize) {
        this.known = new AtomicLong(initialSize);
    }

    boolean within(long end) {
        return end <= known.get();
    }

    /** A shared stamp for an operation that may grow the file; 0 (no lock) when {@code end} is inside it. */
    long growing(long end) {
        return within(end) ? 0 : lock.readLock();
    }

    long resizing() {
        return lock.writeLock();
    }

    void grew(long end) {
        known.accumulateAndGet(end, Math::max);
    }

    void set(long size) {
        known.set(size);
    }

    void release(long stamp) {
        if (stamp != 0) {
            lock.unlock(stamp);
        }
    }
}
