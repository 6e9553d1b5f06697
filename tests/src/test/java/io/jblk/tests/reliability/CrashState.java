package io.jblk.tests.reliability;

import java.util.List;

/**
 * One state the host files could be in after a crash.
 *
 * @param crashPoint  how many log entries had completed when the machine died (0 … log size)
 * @param crashTime   the clock value just before the next entry completed ({@link Long#MAX_VALUE} at the end):
 *                    guest events stamped earlier happened before the crash
 * @param applied     indices of the log entries that reached the files, in the order they are applied
 * @param tornSectors when not null, the last applied entry is a write of which only these 512-byte sectors
 *                    (indices relative to the sector containing its first byte) reached the file
 * @param kind        how the state was generated, for reports
 */
public record CrashState(int crashPoint, long crashTime, List<Integer> applied, java.util.BitSet tornSectors,
                         Kind kind) {

    public enum Kind { PREFIX, TORN_PREFIX, REORDERED, REORDERED_TORN }

    public CrashState {
        applied = List.copyOf(applied);
    }

    @Override
    public String toString() {
        return kind + " crash after " + crashPoint + " ops, applied " + applied
                + (tornSectors == null ? "" : ", last write torn to sectors " + tornSectors);
    }
}
