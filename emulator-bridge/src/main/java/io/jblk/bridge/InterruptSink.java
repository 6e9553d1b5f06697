package io.jblk.bridge;

/**
 * Where a {@link VirtioBlkDevice} reports its notifications; provided by the transport ({@link VirtioMmioTransport}
 * has its own), or by an emulator that drives the core from its own transport (PCI, ...).
 *
 * <p><b>Threads.</b> No call is made while a jblk lock is held, and none on a block driver's I/O completion thread.
 * {@link #usedBuffers} and {@link #configChanged} calls never overlap: they are made on the embedder's thread that
 * caused them (inside {@code queueNotify}, {@code setQueueReady}, {@code poll} or {@code drain}) or, in threaded
 * mode, for I/O completions, on a jblk delivery thread (a virtual thread named {@code jblk-virtio-signal}).
 * Notifications that arrive while a call is in progress are coalesced into one more call afterwards. A call may
 * block (on the emulator's machine lock, say) without stalling the device's I/O. {@link #deviceReset} is made on the
 * thread that reset the device, at the end of the reset.
 *
 * <p>A call can arrive after the state it reports changed: a {@code usedBuffers} decided just before a reset may be
 * delivered after it. A transport that keeps interrupt state derives it from
 * {@link VirtioBlkDevice#interruptStatus()}, which a reset clears, rather than from the calls.
 */
public interface InterruptSink {
    /** Queue {@code queue} has new used buffers and the guest asked to be told (called once per batch). */
    void usedBuffers(int queue);

    /** The configuration changed, or the device entered DEVICE_NEEDS_RESET. */
    void configChanged();

    /** The device was reset: its interrupt status is 0 and every queue is stopped. Default: nothing. */
    default void deviceReset() {
    }
}
