package io.jblk.nativeio;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts operations in flight on one file so that close can wait for them: the kernel may still be reading or writing
 * caller and bounce buffers, and the descriptor number must not be reused under a running call.
 */
final class InFlight {
    private static final long CLOSED = 1L << 62;

    private final AtomicLong state = new AtomicLong();

    /** Admits one operation; false once closing has begun. */
    boolean enter() {
        while (true) {
            long v = state.get();
            if ((v & CLOSED) != 0) {
                return false;
            }
            if (state.compareAndSet(v, v + 1)) {
                return true;
            }
        }
    }

    void exit() {
        if (state.decrementAndGet() == CLOSED) {
            synchronized (this) {
                notifyAll();
            }
        }
    }

    boolean isClosed() {
        return (state.get() & CLOSED) != 0;
    }

    /** Refuses new operations and waits for those admitted; false when another caller already closed. */
    boolean closeAndAwait() {
        long before = state.getAndUpdate(v -> v | CLOSED);
        if ((before & CLOSED) != 0) {
            return false;
        }
        boolean interrupted = false;
        synchronized (this) {
            while (state.get() != CLOSED) {
                try {
                    wait(100);
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return true;
    }
}
