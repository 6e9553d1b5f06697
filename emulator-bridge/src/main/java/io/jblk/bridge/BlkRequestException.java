package io.jblk.bridge;

import java.lang.foreign.MemorySegment;

/** A virtio-blk request the device refuses, with the status the guest sees (IOERR or UNSUPP). */
public final class BlkRequestException extends VirtioException {
    private final int status;
    private final transient MemorySegment statusByte;

    /** @param statusByte where the status goes, or null when the request has no usable status byte */
    public BlkRequestException(int status, MemorySegment statusByte, String message) {
        super(message);
        this.status = status;
        this.statusByte = statusByte;
    }

    public int status() {
        return status;
    }

    public MemorySegment statusByte() {
        return statusByte;
    }
}
