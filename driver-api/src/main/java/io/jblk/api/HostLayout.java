package io.jblk.api;

import java.io.IOException;
import java.util.List;

/**
 * How the image file's own clusters are used: the format's metadata, guest data, or free space. An optional
 * capability of a {@link BlockDevice} whose format keeps metadata inside the file (qcow2); pictures of an image's
 * allocation draw it next to the guest view. Callers test with {@code device instanceof HostLayout}.
 */
public interface HostLayout {

    /** What a host range holds. */
    enum Use {
        /** Headers, tables, refcount structures: what a format needs to find the data. */
        METADATA,
        /** Guest data (also compressed data) referenced by the format's tables. */
        DATA,
        /** Inside the file but referenced by nothing. */
        FREE
    }

    /** Contiguous host bytes of one use, named by what they are ("an active L2 table"). */
    record HostRange(long offset, long length, Use use, String what) {
        public HostRange {
            if (offset < 0 || length <= 0 || use == null) {
                throw new IllegalArgumentException("host range " + offset + "+" + length + " " + use);
            }
        }
    }

    /** The unit the ranges are multiples of (the cluster size). */
    long hostClusterSize();

    /** The whole image file, in ascending order, adjacent ranges of the same use and name merged. */
    List<HostRange> hostLayout() throws IOException;
}
