package io.jblk.api;

/**
 * An optional capability of a {@link BlockDevice} with a backing file: how many bytes it has read from its backing
 * chain since it was opened (copy-on-write and reads of unallocated data). Tools show it to explain the cost of
 * allocating in large clusters; callers test {@code device instanceof BackingReadCounter}.
 */
public interface BackingReadCounter {

    /** Bytes read from the backing chain since open. */
    long backingBytesRead();
}
