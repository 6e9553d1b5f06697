package io.jblk.bridge;

/**
 * Where a {@link VirtioBlkDevice} raises its notifications; provided by the transport (or by an emulator driving the
 * core directly). Calls come from I/O completion threads as well as from the thread that notified a queue.
 */
public interface InterruptSink {
    /** Queue {@code queue} has new used buffers and the guest asked to be told (called once per batch). */
    void usedBuffers(int queue);

    /** The configuration changed, or the device entered DEVICE_NEEDS_RESET. */
    void configChanged();
}
