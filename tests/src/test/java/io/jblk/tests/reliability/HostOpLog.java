package io.jblk.tests.reliability;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Every host operation of a workload, in completion order, stamped with a logical clock that guest-level events
 * ({@link JournalingBlockDevice}) share: "before the crash" then means "earlier on this clock".
 */
public final class HostOpLog {
    private final AtomicLong clock = new AtomicLong();
    private final List<Entry> entries = new ArrayList<>();

    /** An operation and the clock value at its completion. */
    public record Entry(long time, HostOp op) {
    }

    /** Advances the clock: the time of an event that is not a host operation (a flush issue, a guest ack). */
    public long tick() {
        return clock.incrementAndGet();
    }

    /** Appends a completed operation; the clock is advanced under the same lock so times follow list order. */
    public synchronized Entry append(HostOp op) {
        Entry entry = new Entry(clock.incrementAndGet(), op);
        entries.add(entry);
        return entry;
    }

    public synchronized List<Entry> entries() {
        return List.copyOf(entries);
    }

    public synchronized int size() {
        return entries.size();
    }

    /** Forgets everything recorded so far (e.g. the image creation before the workload proper). */
    public synchronized void clear() {
        entries.clear();
    }
}
