package io.jblk.vhost;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link QueueProcessor.Factory} that processes nothing and records what the session asked of it: which rings
 * started with which guest-physical geometry and base, how often they were kicked, and when they stopped. For
 * testing the control plane apart from the data path.
 */
final class RecordingProcessors implements QueueProcessor.Factory {
    record Start(int queue, int size, long desc, long avail, long used, int base, long features) {
    }

    final List<Start> starts = new CopyOnWriteArrayList<>();
    final List<Integer> stops = new CopyOnWriteArrayList<>();
    final AtomicInteger processCalls = new AtomicInteger();
    /** Added to the base when a ring stops, as if that many chains had been consumed. */
    volatile int consumedPerRun;

    @Override
    public QueueProcessor start(int queue, MemoryTable memory, int size, long desc, long avail, long used, int base,
                                long features, InflightLog inflight, Runnable call,
                                java.util.function.Consumer<String> broken) {
        starts.add(new Start(queue, size, desc, avail, used, base, features));
        return new QueueProcessor() {
            @Override
            public void process() {
                processCalls.incrementAndGet();
            }

            @Override
            public int stop() {
                stops.add(queue);
                return (base + consumedPerRun) & 0xFFFF;
            }
        };
    }
}
