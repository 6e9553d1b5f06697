package io.jblk.bridge;

import java.lang.foreign.MemorySegment;

/**
 * A descriptor chain the device refuses: a loop, too long, a bad index, a bad indirect table, a buffer outside guest
 * memory, or a readable buffer after a writable one.
 */
public final class DescriptorChainException extends VirtioException {
    private final transient MemorySegment lastWritable;

    /**
     * @param lastWritable the last device-writable buffer walked before the error (where the device reports IOERR
     *                     as best it can), or null
     */
    public DescriptorChainException(String message, MemorySegment lastWritable) {
        super(message);
        this.lastWritable = lastWritable;
    }

    /** The last non-empty device-writable buffer walked before the error, or null. */
    public MemorySegment lastWritable() {
        return lastWritable;
    }
}
