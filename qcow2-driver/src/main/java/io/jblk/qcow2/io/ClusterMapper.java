package io.jblk.qcow2.io;

import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.SubclusterType;
import io.jblk.qcow2.image.Qcow2Image;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns one L2 entry into typed runs for a guest range inside its cluster, validating the entry first: an entry
 * QEMU would call invalid (bitmaps that contradict each other, unaligned offsets, a compressed cluster next to an
 * external data file, a zero flag in a v2 image) marks the image corrupt and fails the request.
 */
final class ClusterMapper {
    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final boolean externalData;

    ClusterMapper(Qcow2Image image) {
        this.image = image;
        this.geometry = image.geometry();
        this.externalData = image.hasExternalData();
    }

    /** Validates an entry as QEMU does on every access (the whole entry, not just the part asked for). */
    void validate(long cluster, L2Entry entry) throws IOException {
        long guest = cluster << geometry.clusterBits();
        String problem = null;
        if (entry.isCompressed()) {
            if (externalData) {
                problem = "compressed cluster entry " + entry + " in an image with an external data file";
            }
        } else {
            if (geometry.extendedL2()) {
                problem = entry.extendedInconsistency(externalData);
            } else if ((entry.word() & L2Entry.ZERO_FLAG) != 0 && image.header().version() < 3) {
                problem = "zero cluster entry in a version 2 image";
            }
            long host = entry.hostOffset();
            if (problem == null && host != 0 && !geometry.isClusterAligned(host)) {
                problem = "cluster offset 0x" + Long.toHexString(host) + " is not cluster-aligned";
            }
            if (problem == null && externalData && entry.hasHostCluster(true) && host != guest) {
                problem = "external data file offset 0x" + Long.toHexString(host) + " differs from guest offset 0x"
                        + Long.toHexString(guest);
            }
        }
        if (problem != null) {
            throw image.markCorrupt("Invalid cluster entry found (guest offset 0x" + Long.toHexString(guest)
                    + ", L2 entry " + entry + "): " + problem);
        }
    }

    /** Runs covering guest bytes {@code [from, to)} of cluster {@code cluster} (offsets are absolute guest offsets). */
    List<Run> runs(long cluster, L2Entry entry, long from, long to) throws IOException {
        validate(cluster, entry);
        List<Run> runs = new ArrayList<>(2);
        long clusterStart = cluster << geometry.clusterBits();
        int subclusters = geometry.subclustersPerCluster();
        int scSize = geometry.subclusterSize();
        long pos = from;
        while (pos < to) {
            int sc = (int) ((pos - clusterStart) / scSize);
            SubclusterType type = entry.type(sc, geometry.extendedL2(), externalData);
            int length = type == SubclusterType.COMPRESSED ? subclusters - sc
                    : entry.runLength(sc, subclusters, geometry.extendedL2(), externalData);
            long runEnd = Math.min(to, clusterStart + (long) (sc + length) * scSize);
            long host = switch (type) {
                case NORMAL, ZERO_ALLOC, UNALLOCATED_ALLOC -> entry.hostOffset() + (pos - clusterStart);
                default -> -1;
            };
            runs.add(new Run(type, pos, runEnd - pos, host));
            pos = runEnd;
        }
        return runs;
    }
}
