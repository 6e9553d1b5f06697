package io.jblk.tests.reliability;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link CrashState} out as files: each recorded file's baseline with the applied log entries on top,
 * under its own file name in a fresh folder (so relative backing-file names keep working).
 */
public final class CrashStateMaterializer {
    private final Map<Path, SparseBytes> baselines;
    private final List<HostOpLog.Entry> entries;

    public CrashStateMaterializer(Map<Path, SparseBytes> baselines, List<HostOpLog.Entry> entries) {
        this.baselines = Map.copyOf(baselines);
        this.entries = List.copyOf(entries);
    }

    /** The files' content in {@code state}, keyed by original path. */
    public Map<Path, SparseBytes> contents(CrashState state) {
        Map<Path, SparseBytes> files = new LinkedHashMap<>();
        baselines.forEach((path, bytes) -> files.put(path, bytes.copy()));
        List<Integer> applied = state.applied();
        for (int i = 0; i < applied.size(); i++) {
            HostOp op = entries.get(applied.get(i)).op();
            SparseBytes file = files.computeIfAbsent(op.path(), p -> new SparseBytes());
            boolean last = i == applied.size() - 1;
            apply(file, op, last ? state.tornSectors() : null);
        }
        return files;
    }

    /** Materialises {@code state} into {@code dir} (created if needed); returns original path → new path. */
    public Map<Path, Path> materialize(CrashState state, Path dir) throws IOException {
        Files.createDirectories(dir);
        Map<Path, Path> out = new LinkedHashMap<>();
        for (var entry : contents(state).entrySet()) {
            Path target = dir.resolve(entry.getKey().getFileName());
            Files.deleteIfExists(target);
            entry.getValue().writeTo(target);
            out.put(entry.getKey(), target);
        }
        return out;
    }

    static void apply(SparseBytes file, HostOp op, java.util.BitSet torn) {
        switch (op) {
            case HostOp.Write w when torn != null -> {
                long firstSector = w.offset() / CrashStateEnumerator.SECTOR;
                for (int s = torn.nextSetBit(0); s >= 0; s = torn.nextSetBit(s + 1)) {
                    long from = Math.max(w.offset(), (firstSector + s) * CrashStateEnumerator.SECTOR);
                    long to = Math.min(w.offset() + w.data().length, (firstSector + s + 1) * CrashStateEnumerator.SECTOR);
                    if (from < to) {
                        file.write(from, w.data(), (int) (from - w.offset()), (int) (to - from));
                    }
                }
            }
            case HostOp.Write w -> file.write(w.offset(), w.data(), 0, w.data().length);
            case HostOp.ZeroRange z -> file.zero(z.offset(), z.length(), true);
            case HostOp.PunchHole h -> file.zero(h.offset(), h.length(), false);
            case HostOp.Truncate t -> file.truncate(t.size());
            case HostOp.Flush f -> {
                // no content change
            }
        }
    }
}
