package io.jblk.bridge;

import java.lang.foreign.MemorySegment;

/**
 * A descriptor chain the device refuses: a loop, too long, a bad index, a bad indirect table, a buffer outside guest
 * memory, or a readable buffer after a writable one.
 */
public final class DescriptorChainException extends VirtioException {
    private final transient MemorySegment statusByte;

    /**
     * @param statusByte where the device reports IOERR as best it can: the last byte of the chain's final
     *                   descriptor when that is writable, else of the last writable buffer walked; or null
     */
    public DescriptorChainException(String message, MemorySegment statusByte) {
        super(message);
        this.statusByte = statusByte;
    }

    /** Where the device writes IOERR for this chain (a 1-byte slice, or a buffer whose last byte is used), or null. */
    public MemorySegment statusByte() {
        return statusByte;
    }
}
