package io.jblk.bridge;

/**
 * A fault in a whole virtqueue rather than in one request: rings outside guest memory or misaligned, a bad queue
 * size, or an avail index more than the queue size ahead. The device answers with DEVICE_NEEDS_RESET.
 */
public final class VirtqueueException extends VirtioException {
    public VirtqueueException(String message) {
        super(message);
    }
}
