package io.jblk.api;

/** A request that reaches beyond the end of the device. */
public final class OutOfRangeException extends InvalidRequestException {
    private final long offset;
    private final long length;
    private final long deviceSize;

    public OutOfRangeException(String operation, long offset, long length, long deviceSize) {
        super(operation + " of " + length + " bytes at offset " + offset + " reaches beyond the device size "
                + deviceSize);
        this.offset = offset;
        this.length = length;
        this.deviceSize = deviceSize;
    }

    public long offset() {
        return offset;
    }

    public long length() {
        return length;
    }

    public long deviceSize() {
        return deviceSize;
    }
}
