package io.jblk.tests.reliability;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Generates crash states from a {@link HostOpLog}, following the block-device contract: an operation is durable
 * once a flush of its file that was issued after the operation completed has itself completed; every other
 * completed operation may or may not have reached the disk, in any order, and a write may be torn at 512-byte
 * sector granularity.
 *
 * <p>States, in this order: every prefix of the log (operations persist in completion order); for each flush epoch,
 * a seeded random sample of subsets and reorderings of the operations not yet covered by a flush, half of them with
 * the last write torn at a random set of sectors; every prefix whose last operation is a multi-sector write, torn
 * after each sector (bounded). Duplicates are dropped.
 */
public final class CrashStateEnumerator {
    public static final int SECTOR = 512;

    /** Bounds of the enumeration. */
    /**
     * @param tornPerWrite    torn variants per prefix ending in a multi-sector write
     * @param samplesPerEpoch random subsets/reorderings per flush epoch
     * @param maxPrefixes     prefix crash points at most: a longer log is strided evenly (keeping the points just
     *                        before and after each flush while the stride is small)
     */
    public record Limits(int tornPerWrite, int samplesPerEpoch, int maxPrefixes) {
        public Limits(int tornPerWrite, int samplesPerEpoch) {
            this(tornPerWrite, samplesPerEpoch, Integer.MAX_VALUE);
        }

        public static Limits fast() {
            return new Limits(4, 24);
        }
    }

    private final List<HostOpLog.Entry> entries;
    private final Limits limits;
    private final SplittableRandom random;

    public CrashStateEnumerator(List<HostOpLog.Entry> entries, Limits limits, SplittableRandom random) {
        this.entries = List.copyOf(entries);
        this.limits = limits;
        this.random = random;
    }

    /** Every state, in a stable order for a given seed; returns how many were emitted. */
    public int forEach(Consumer<CrashState> sink) {
        Set<String> seen = new HashSet<>();
        int emitted = 0;
        List<Integer> prefix = new ArrayList<>();
        List<Integer> tornPoints = new ArrayList<>();
        int stride = Math.max(1, (entries.size() + 1 + limits.maxPrefixes() - 1) / limits.maxPrefixes());
        for (int p = 0; p <= entries.size(); p++) {
            if (p > 0) {
                prefix.add(p - 1);
            }
            boolean nearFlush = stride <= 4 && ((p > 0 && entries.get(p - 1).op() instanceof HostOp.Flush)
                    || (p < entries.size() && entries.get(p).op() instanceof HostOp.Flush));
            if (p % stride != 0 && !nearFlush && p != entries.size()) {
                continue;
            }
            emitted += emit(new CrashState(p, crashTime(p), prefix, null, CrashState.Kind.PREFIX), seen, sink);
            if (p > 0 && entries.get(p - 1).op() instanceof HostOp.Write) {
                tornPoints.add(p);
            }
        }
        for (Epoch epoch : epochs()) {
            for (int s = 0; s < limits.samplesPerEpoch(); s++) {
                int p = epoch.firstPoint + random.nextInt(epoch.lastPoint - epoch.firstPoint + 1);
                List<Integer> durable = new ArrayList<>();
                List<Integer> pending = new ArrayList<>();
                split(p, durable, pending);
                if (pending.isEmpty()) {
                    continue;
                }
                List<Integer> chosen = new ArrayList<>();
                for (int index : pending) {
                    if (random.nextBoolean()) {
                        chosen.add(index);
                    }
                }
                shuffle(chosen);
                List<Integer> applied = new ArrayList<>(durable);
                applied.addAll(chosen);
                BitSet torn = null;
                if (!chosen.isEmpty() && random.nextBoolean()
                        && entries.get(chosen.getLast()).op() instanceof HostOp.Write w && sectorCount(w) > 1) {
                    torn = new BitSet();
                    int sectors = sectorCount(w);
                    for (int i = 0; i < sectors; i++) {
                        if (random.nextBoolean()) {
                            torn.set(i);
                        }
                    }
                }
                emitted += emit(new CrashState(p, crashTime(p), applied, torn,
                        torn == null ? CrashState.Kind.REORDERED : CrashState.Kind.REORDERED_TORN), seen, sink);
            }
        }
        // Torn prefixes last: they are the most numerous, so a capped run still sees every kind.
        for (int p : tornPoints) {
            HostOp.Write w = (HostOp.Write) entries.get(p - 1).op();
            int sectors = sectorCount(w);
            List<Integer> applied = new ArrayList<>();
            for (int i = 0; i < p; i++) {
                applied.add(i);
            }
            for (int k = 1; k < sectors && k <= limits.tornPerWrite(); k++) {
                int kept = k == limits.tornPerWrite() ? sectors - 1 : k; // always include "all but the last"
                BitSet torn = new BitSet();
                torn.set(0, kept);
                emitted += emit(new CrashState(p, crashTime(p), applied, torn, CrashState.Kind.TORN_PREFIX),
                        seen, sink);
            }
        }
        return emitted;
    }

    /** All states as a list (for small logs and tests of the enumerator itself). */
    public List<CrashState> all() {
        List<CrashState> states = new ArrayList<>();
        forEach(states::add);
        return states;
    }

    /**
     * Splits the first {@code p} entries into those a completed flush made durable and those still pending. Flush
     * entries themselves are left out: they change no content.
     */
    void split(int p, List<Integer> durable, List<Integer> pending) {
        Map<Path, Long> coveredBefore = new HashMap<>();
        for (int i = 0; i < p; i++) {
            if (entries.get(i).op() instanceof HostOp.Flush f) {
                coveredBefore.merge(f.path(), f.issuedAt(), Math::max);
            }
        }
        for (int i = 0; i < p; i++) {
            HostOpLog.Entry e = entries.get(i);
            if (!e.op().mutates()) {
                continue;
            }
            if (e.time() < coveredBefore.getOrDefault(e.op().path(), Long.MIN_VALUE)) {
                durable.add(i);
            } else {
                pending.add(i);
            }
        }
    }

    /** Crash points between two completed flushes: [first, last] inclusive. */
    private record Epoch(int firstPoint, int lastPoint) {
    }

    private List<Epoch> epochs() {
        List<Epoch> epochs = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).op() instanceof HostOp.Flush) {
                epochs.add(new Epoch(start, i));
                start = i + 1;
            }
        }
        epochs.add(new Epoch(start, entries.size()));
        return epochs;
    }

    private long crashTime(int p) {
        return p < entries.size() ? entries.get(p).time() : Long.MAX_VALUE;
    }

    static int sectorCount(HostOp.Write w) {
        long first = w.offset() / SECTOR;
        long last = (w.offset() + w.data().length - 1) / SECTOR;
        return (int) (last - first + 1);
    }

    private void shuffle(List<Integer> list) {
        for (int i = list.size() - 1; i > 0; i--) {
            Collections.swap(list, i, random.nextInt(i + 1));
        }
    }

    private static int emit(CrashState state, Set<String> seen, Consumer<CrashState> sink) {
        // Two states are the same when the same entries reach the files in the same order, torn alike, and the
        // crash happened in the same place relative to guest events.
        String key = state.crashPoint() + ":" + state.applied() + ":" + state.tornSectors();
        if (!seen.add(key)) {
            return 0;
        }
        sink.accept(state);
        return 1;
    }
}
