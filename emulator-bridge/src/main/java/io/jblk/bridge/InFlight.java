package io.jblk.bridge;

/**
 * Counts the requests the device has taken from its rings and not yet published or dropped, and lets threads wait
 * for that count to reach zero. Only the device's own bookkeeping runs under its monitor.
 */
final class InFlight {
    private int count;          // guarded by this
    private boolean completion; // guarded by this: a completion arrived for a waiter that publishes (polled mode)
    private volatile int pumpingWaiters;

    synchronized void started() {
        count++;
    }

    synchronized void finished(int n) {
        if (n == 0) {
            return;
        }
        count -= n;
        if (count == 0) {
            notifyAll();
        }
    }

    synchronized int count() {
        return count;
    }

    /** A completion is waiting to be published by {@code poll()}: wakes a {@link #await} that pumps. */
    void completionWaiting() {
        if (pumpingWaiters > 0) {
            synchronized (this) {
                completion = true;
                notifyAll();
            }
        }
    }

    /**
     * Waits until the count is zero, ignoring interrupts (the caller must not return while I/O may still land in
     * guest memory); the interrupt status is restored afterwards.
     */
    void awaitZero() {
        boolean interrupted = false;
        synchronized (this) {
            while (count > 0) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Waits until the count is zero or {@code deadline} ({@link System#nanoTime}) passes.
     *
     * @param pump called without any lock before each check, to publish completions (polled mode), or null
     * @return whether the count reached zero
     * @throws InterruptedException when the waiting thread is interrupted
     */
    boolean await(long deadline, Runnable pump) throws InterruptedException {
        if (pump != null) {
            synchronized (this) {
                pumpingWaiters++;
            }
        }
        try {
            while (true) {
                if (pump != null) {
                    pump.run();
                }
                synchronized (this) {
                    if (count == 0) {
                        return true;
                    }
                    long remaining = deadline - System.nanoTime();
                    if (remaining <= 0) {
                        return false;
                    }
                    if (pump == null || !completion) {
                        long ms = remaining / 1_000_000;
                        wait(ms, (int) (remaining % 1_000_000));
                    }
                    completion = false;
                }
            }
        } finally {
            if (pump != null) {
                synchronized (this) {
                    pumpingWaiters--;
                }
            }
        }
    }
}
