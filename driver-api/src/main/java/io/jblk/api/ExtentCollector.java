package io.jblk.api;

import java.util.ArrayList;
import java.util.List;

/**
 * Builds a block-status answer: appends runs in ascending order, merging a run into the last extent when the two
 * describe their bytes alike ({@link Extent#canMergeWith}), and holds at most {@code maxExtents} extents. Once a run
 * would need one more extent the collector is full: it refuses that run and every later one, so the answer is a
 * prefix of the full one and the producer can stop working.
 *
 * <p>Not thread-safe: one request builds one answer.
 */
public final class ExtentCollector {
    private final int maxExtents;
    private final List<Extent> extents = new ArrayList<>();
    private boolean full;

    /** @throws IllegalArgumentException unless {@code maxExtents >= 1} */
    public ExtentCollector(int maxExtents) {
        if (maxExtents < 1) {
            throw new IllegalArgumentException("maxExtents must be at least 1, got " + maxExtents);
        }
        this.maxExtents = maxExtents;
    }

    /**
     * Appends {@code next}, which must start where the last extent ends. Returns false, keeping nothing of it, when
     * the collector is full; after that every call returns false.
     */
    public boolean add(Extent next) {
        if (full) {
            return false;
        }
        int last = extents.size() - 1;
        if (last >= 0 && extents.get(last).canMergeWith(next)) {
            extents.set(last, extents.get(last).mergedWith(next));
            return true;
        }
        if (extents.size() == maxExtents) {
            full = true;
            return false;
        }
        extents.add(next);
        return true;
    }

    /** True once a run was refused: the answer ends before the range does and nothing more will be taken. */
    public boolean isFull() {
        return full;
    }

    /** Distinct extents that may still be added (merges into the last one cost nothing). */
    public int room() {
        return full ? 0 : maxExtents - extents.size();
    }

    /** Where the collected answer ends, or {@code fallback} when it is empty. */
    public long end(long fallback) {
        return extents.isEmpty() ? fallback : extents.getLast().end();
    }

    public boolean isEmpty() {
        return extents.isEmpty();
    }

    /** The extents collected so far (a live view; copy it to keep it beyond the next {@link #add}). */
    public List<Extent> extents() {
        return extents;
    }

    /** The first {@code maxExtents} extents of a full answer (the default of the limited block-status request). */
    public static List<Extent> prefix(List<Extent> answer, int maxExtents) {
        if (maxExtents < 1) {
            throw new IllegalArgumentException("maxExtents must be at least 1, got " + maxExtents);
        }
        return answer.size() <= maxExtents ? answer : List.copyOf(answer.subList(0, maxExtents));
    }
}
