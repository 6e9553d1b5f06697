package io.jblk.api;

/** A request sent to a device after {@link BlockDevice#close()}. */
public final class DeviceClosedException extends BlockException {
    public DeviceClosedException(String what) {
        super(what + " is closed");
    }
}
