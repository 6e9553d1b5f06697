package io.jblk.bridge;

import java.util.List;

/**
 * A walked, validated descriptor chain: the head index the used ring must return and its buffers in order, each a
 * guest-physical range checked against guest memory. Readable buffers all come before writable ones.
 */
public record DescriptorChain(int head, List<Buffer> buffers) {
    public DescriptorChain {
        buffers = List.copyOf(buffers);
    }

    /** One guest buffer: its guest-physical range and whether the device may write it. */
    public record Buffer(long address, long length, boolean writable) {
        /** Bytes {@code [from, to)} of this buffer. */
        Buffer slice(long from, long to) {
            return new Buffer(address + from, to - from, writable);
        }
    }
}
