package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * A walked, validated descriptor chain: the head index the used ring must return and its buffers in order, each
 * resolved to a slice of guest RAM. Readable buffers all come before writable ones.
 */
public record DescriptorChain(int head, List<Buffer> buffers) {
    public DescriptorChain {
        buffers = List.copyOf(buffers);
    }

    /** One guest buffer: its guest-physical address, the host memory behind it and whether the device may write it. */
    public record Buffer(long address, MemorySegment memory, boolean writable) {
        public long length() {
            return memory.byteSize();
        }
    }
}
