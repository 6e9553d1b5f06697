package io.jblk.api;

import java.io.IOException;
import java.util.List;

/**
 * An optional capability of a {@link BlockDevice} whose format stores internal snapshots: lists them, as
 * {@code qemu-img snapshot -l}. Callers test {@code device instanceof SnapshotLister}.
 */
public interface SnapshotLister {

    /** The image's internal snapshots in table order; empty when there are none. */
    List<SnapshotInfo> snapshotList() throws IOException;

    /**
     * One snapshot, with the fields of qemu-img's {@code snapshots} JSON.
     *
     * @param id               the snapshot's id string
     * @param name             its name (qemu's "TAG")
     * @param vmStateSize      bytes of saved VM state, 0 for disk-only snapshots
     * @param dateSeconds      creation time, seconds since the epoch
     * @param dateNanoseconds  sub-second part of the creation time
     * @param vmClockNanoseconds guest clock at creation
     * @param icount           instruction count at creation, or -1 when the image does not record it
     */
    record SnapshotInfo(String id, String name, long vmStateSize, long dateSeconds, long dateNanoseconds,
                        long vmClockNanoseconds, long icount) {
    }
}
