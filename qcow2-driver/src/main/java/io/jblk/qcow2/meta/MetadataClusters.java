package io.jblk.qcow2.meta;

import io.jblk.api.CorruptImageException;

import java.util.HashMap;
import java.util.Map;

/**
 * Which host clusters hold metadata, for QEMU-style overlap checks: a data write, COW or new table that would land
 * on the header, an L1/L2 table, the refcount structures or the snapshot table is refused as corruption before a
 * byte is written. Guarded by the image's metadata lock.
 */
public final class MetadataClusters {
    /** What a metadata cluster is, for the error message. */
    public enum Kind {
        HEADER("the qcow2 header"), ACTIVE_L1("the active L1 table"), ACTIVE_L2("an active L2 table"),
        REFCOUNT_TABLE("the refcount table"), REFCOUNT_BLOCK("a refcount block"),
        SNAPSHOT_TABLE("the snapshot table"), INACTIVE_L1("a snapshot's L1 table"),
        INACTIVE_L2("a snapshot's L2 table"), OTHER("preserved metadata (bitmaps)");

        private final String description;

        Kind(String description) {
            this.description = description;
        }

        public String description() {
            return description;
        }
    }

    private final int clusterBits;
    private final Map<Long, Kind> clusters = new HashMap<>();

    public MetadataClusters(int clusterBits) {
        this.clusterBits = clusterBits;
    }

    public void add(long firstCluster, long count, Kind kind) {
        for (long c = firstCluster; c < firstCluster + count; c++) {
            clusters.putIfAbsent(c, kind);
        }
    }

    public void remove(long firstCluster, long count) {
        for (long c = firstCluster; c < firstCluster + count; c++) {
            clusters.remove(c);
        }
    }

    public Kind kindOf(long cluster) {
        return clusters.get(cluster);
    }

    public int count() {
        return clusters.size();
    }

    /** Refuses a write of {@code length} bytes at {@code offset} that touches any metadata cluster. */
    public void checkWrite(long offset, long length, String what) throws CorruptImageException {
        long first = offset >>> clusterBits;
        long last = (offset + Math.max(length, 1) - 1) >>> clusterBits;
        for (long c = first; c <= last; c++) {
            Kind kind = clusters.get(c);
            if (kind != null) {
                throw new CorruptImageException("Preventing invalid write on metadata (" + what + " at 0x"
                        + Long.toHexString(offset) + "+" + length + " overlaps with " + kind.description + ")");
            }
        }
    }
}
