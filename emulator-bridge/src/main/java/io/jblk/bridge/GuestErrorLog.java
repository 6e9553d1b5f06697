package io.jblk.bridge;

import java.util.concurrent.atomic.AtomicLong;

/**
 * Logs what the guest got wrong without letting a hostile guest flood the emulator's log: the first
 * {@value #VERBOSE} errors at WARNING, later ones at DEBUG with a WARNING summary at every power of two.
 */
final class GuestErrorLog {
    static final int VERBOSE = 64;
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");
    private final AtomicLong count = new AtomicLong();

    void report(int queue, int head, String what) {
        long n = count.incrementAndGet();
        if (n <= VERBOSE) {
            LOG.log(System.Logger.Level.WARNING, "virtio-blk queue {0} head {1}: {2}", queue, head, what);
        } else {
            LOG.log(System.Logger.Level.DEBUG, "virtio-blk queue {0} head {1}: {2}", queue, head, what);
            if (Long.bitCount(n) == 1) {
                LOG.log(System.Logger.Level.WARNING, "virtio-blk: {0} malformed or failed guest requests so far"
                        + " (details at DEBUG)", n);
            }
        }
    }

    long count() {
        return count.get();
    }
}
