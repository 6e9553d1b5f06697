package io.jblk.bridge;

/** Bits of the virtio device status field. */
public final class DeviceStatus {
    public static final int ACKNOWLEDGE = 1;
    public static final int DRIVER = 2;
    public static final int DRIVER_OK = 4;
    public static final int FEATURES_OK = 8;
    public static final int DEVICE_NEEDS_RESET = 64;
    public static final int FAILED = 128;

    private DeviceStatus() {
    }
}
