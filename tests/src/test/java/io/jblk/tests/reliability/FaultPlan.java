package io.jblk.tests.reliability;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Which host operations fail and how. Operations are counted per kind across all files of one opener (1-based, in
 * submission order), optionally only those on files whose name matches. Thread-safe.
 */
public final class FaultPlan {

    public enum Kind { READ, WRITE, ZERO, PUNCH, FLUSH, TRUNCATE }

    public enum Errno {
        EIO("Input/output error"), ENOSPC("No space left on device");

        final String message;

        Errno(String message) {
            this.message = message;
        }
    }

    /** What happens to a matched operation. */
    public enum Effect {
        /** Fails without touching the file. */
        FAIL,
        /** Writes: the first half of the data (rounded down to 512 bytes) reaches the file, then it fails. */
        SHORT_WRITE,
        /** Fails, and every later operation of the same kind fails too until {@link #clear()} (fdatasync on Linux). */
        STICKY
    }

    /**
     * @param kind     operation kind
     * @param nth      the ordinal (1-based) of that kind to fail; 0 = every one
     * @param errno    error to raise
     * @param effect   how it fails
     * @param fileName only operations on a file of this name count (null: all files)
     */
    public record Rule(Kind kind, long nth, Errno errno, Effect effect, String fileName) {
    }

    private final List<Rule> rules = new ArrayList<>();
    private final Map<Kind, Long> counts = new EnumMap<>(Kind.class);
    private final Map<Kind, Errno> stuck = new EnumMap<>(Kind.class);
    private final List<String> fired = new ArrayList<>();

    public synchronized FaultPlan add(Rule rule) {
        rules.add(rule);
        return this;
    }

    public FaultPlan failNth(Kind kind, long nth, Errno errno) {
        return add(new Rule(kind, nth, errno, Effect.FAIL, null));
    }

    /** Removes every rule and lifts sticky failures; counting goes on. */
    public synchronized void clear() {
        rules.clear();
        stuck.clear();
    }

    /** Descriptions of the faults raised so far. */
    public synchronized List<String> fired() {
        return List.copyOf(fired);
    }

    /** How many operations of {@code kind} were submitted so far. */
    public synchronized long count(Kind kind) {
        return counts.getOrDefault(kind, 0L);
    }

    /** Counts one operation and returns the rule it trips, or null. */
    synchronized Rule next(Kind kind, Path path, String what) {
        long n = counts.merge(kind, 1L, Long::sum);
        Errno sticky = stuck.get(kind);
        if (sticky != null) {
            fired.add(kind + " #" + n + " " + what + ": " + sticky + " (sticky)");
            return new Rule(kind, n, sticky, Effect.FAIL, null);
        }
        for (Rule rule : rules) {
            if (rule.kind() == kind && (rule.nth() == 0 || rule.nth() == n)
                    && (rule.fileName() == null || path.getFileName().toString().equals(rule.fileName()))) {
                if (rule.effect() == Effect.STICKY) {
                    stuck.put(kind, rule.errno());
                }
                fired.add(kind + " #" + n + " " + what + ": " + rule.errno() + " " + rule.effect());
                return rule;
            }
        }
        return null;
    }
}
