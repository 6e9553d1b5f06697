package io.jblk.bridge;

import java.util.concurrent.atomic.AtomicInteger;

/**
 * Runs a call into the embedder's code (an interrupt line, a transport's sink, a wake-up hook) serially and
 * coalesced, and never while a jblk lock is held: callers ask for a run from anywhere, the action never runs on two
 * threads at once, and a request made while a run is in progress makes that run repeat once more, so the last run
 * always starts after the last request. The action reads the current state itself each time; a request carries no
 * value that could arrive stale.
 *
 * <p>{@link #runHere()} is for the embedder's own threads (a register write, a reset, {@code poll()}): the action
 * runs before it returns unless another thread is running it. {@link #runElsewhere()} is for jblk's I/O completion
 * threads: the action runs on a new virtual thread, so a completion thread never waits for the embedder (whose code
 * may wait for a machine lock held by a vCPU that waits for I/O).
 */
final class EmbedderCallout {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");

    private final String threadName;
    private final Runnable action;
    private final AtomicInteger requests = new AtomicInteger();

    EmbedderCallout(String threadName, Runnable action) {
        this.threadName = threadName;
        this.action = action;
    }

    /** Runs the action on this thread, or, when another thread is running it, has that thread run it again. */
    void runHere() {
        if (requests.getAndIncrement() == 0) {
            loop();
        }
    }

    /** Runs the action on a new virtual thread, or, when a thread is running it, has that thread run it again. */
    void runElsewhere() {
        if (requests.getAndIncrement() == 0) {
            Thread.ofVirtual().name(threadName).start(this::loop);
        }
    }

    private void loop() {
        int missed = 1;
        do {
            try {
                action.run();
            } catch (RuntimeException e) {
                // The embedder's exception must not stop later calls (the line would stay at a stale level).
                LOG.log(System.Logger.Level.ERROR, threadName + ": the embedder's callback threw", e);
            }
            missed = requests.addAndGet(-missed);
        } while (missed != 0);
    }
}
