package io.jblk.api;

/** A write, write-zeroes or discard sent to a device opened read-only. */
public final class ReadOnlyDeviceException extends BlockException {
    public ReadOnlyDeviceException(String operation, long offset, long length) {
        super(operation + " of " + length + " bytes at offset " + offset + " refused: the device is read-only");
    }
}
