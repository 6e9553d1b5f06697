package io.jblk.bridge;

/**
 * A descriptor chain the device refuses: a loop, too long, a bad index, a bad indirect table, a buffer outside guest
 * memory, or a readable buffer after a writable one.
 */
public final class DescriptorChainException extends VirtioException {
    private final long statusAddress;

    /**
     * @param statusAddress where the device reports IOERR as best it can: the last byte of the chain's final
     *                      descriptor when that is writable, else of the last writable buffer walked; or
     *                      {@link VirtioBlkRequest#NO_STATUS}
     */
    public DescriptorChainException(String message, long statusAddress) {
        super(message);
        this.statusAddress = statusAddress;
    }

    /** The guest-physical address of the byte that takes IOERR for this chain, or {@link VirtioBlkRequest#NO_STATUS}. */
    public long statusAddress() {
        return statusAddress;
    }
}
