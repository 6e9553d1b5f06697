package io.jblk.qcow2.io;

import io.jblk.qcow2.format.SubclusterType;

/**
 * A stretch of guest bytes inside one cluster whose subclusters all have the same type. {@code hostOffset} is where
 * the first byte lives on the host (data file) for types with a host cluster, else -1.
 */
record Run(SubclusterType type, long guestOffset, long length, long hostOffset) {
    long end() {
        return guestOffset + length;
    }
}
