package io.jblk.bridge;

/**
 * Base of the errors the device finds in what the guest put in memory or wrote to registers. They are device
 * errors reported to the guest (a request status, or DEVICE_NEEDS_RESET), never exceptions that reach the emulator.
 */
public class VirtioException extends Exception {
    public VirtioException(String message) {
        super(message);
    }
}
