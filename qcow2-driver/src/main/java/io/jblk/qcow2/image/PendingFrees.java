package io.jblk.qcow2.image;

import java.util.ArrayList;
import java.util.List;

/**
 * Host clusters whose reference was removed from an L2 entry in the cache. Their refcounts drop only after that L2
 * change is durable (QEMU's rule "unlink before decrement"): until then a crash would leave a durable L2 entry
 * pointing at a cluster the allocator may already have handed to someone else.
 */
final class PendingFrees {
    private final List<Long> clusters = new ArrayList<>();

    void release(long hostCluster) {
        clusters.add(hostCluster);
    }

    boolean isEmpty() {
        return clusters.isEmpty();
    }

    List<Long> take() {
        List<Long> out = new ArrayList<>(clusters);
        clusters.clear();
        return out;
    }
}
