package io.jblk.bridge;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The device's notifications to its transport's {@link InterruptSink}: each one is recorded as pending and
 * delivered through an {@link EmbedderCallout}, so sink calls never overlap, never run under a jblk lock and never
 * on an I/O completion thread; several notifications of one queue that arrive while a call is in progress become
 * one call.
 */
final class SinkSignals {
    private final InterruptSink sink;
    private final AtomicIntegerArray used; // per queue: 1 = usedBuffers pending
    private final AtomicBoolean config = new AtomicBoolean();
    private final EmbedderCallout callout;
    private volatile boolean silenced;

    SinkSignals(InterruptSink sink, int queues) {
        this.sink = sink;
        this.used = new AtomicIntegerArray(queues);
        this.callout = new EmbedderCallout("jblk-virtio-signal", this::deliver);
    }

    /**
     * Queue {@code queue} published used buffers the guest wants to hear about.
     *
     * @param here whether the caller is an embedder thread (then the sink is called before this returns, unless a
     *             call is in progress elsewhere); false on an I/O completion thread
     */
    void usedBuffers(int queue, boolean here) {
        used.set(queue, 1);
        run(here);
    }

    void configChanged(boolean here) {
        config.set(true);
        run(here);
    }

    /** Forgets notifications not yet delivered (the device was reset: they are about rings that no longer exist). */
    void clear() {
        config.set(false);
        for (int q = 0; q < used.length(); q++) {
            used.set(q, 0);
        }
    }

    /** Stops every later sink call (the JVM is exiting: nobody is listening, and the embedder's locks may be held). */
    void silence() {
        silenced = true;
    }

    boolean silenced() {
        return silenced;
    }

    private void run(boolean here) {
        if (silenced) {
            return;
        }
        if (here) {
            callout.runHere();
        } else {
            callout.runElsewhere();
        }
    }

    private void deliver() {
        if (silenced) {
            return;
        }
        if (config.getAndSet(false)) {
            sink.configChanged();
        }
        for (int q = 0; q < used.length(); q++) {
            if (used.get(q) != 0 && used.getAndSet(q, 0) != 0) {
                sink.usedBuffers(q);
            }
        }
    }
}
