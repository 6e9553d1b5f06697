package io.jblk.bridge;

/** A virtio-blk request the device refuses, with the status the guest sees (IOERR or UNSUPP). */
public final class BlkRequestException extends VirtioException {
    private final int status;
    private final long statusAddress;

    /** @param statusAddress where the status goes, or {@link VirtioBlkRequest#NO_STATUS} when there is none */
    public BlkRequestException(int status, long statusAddress, String message) {
        super(message);
        this.status = status;
        this.statusAddress = statusAddress;
    }

    public int status() {
        return status;
    }

    public long statusAddress() {
        return statusAddress;
    }
}
