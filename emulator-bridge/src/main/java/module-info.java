/**
 * A virtio-blk device answered by any block driver: the virtio-mmio transport for emulators, and the
 * transport-independent layers other transports reuse (a vhost-user back-end, a PCI transport).
 *
 * <ul>
 *   <li>guest memory: {@link io.jblk.bridge.GuestMemory} (segments, or the emulator's own copying accessors);</li>
 *   <li>split ring and chains: {@link io.jblk.bridge.SplitVirtqueue} (also resumed at a vring base),
 *       {@link io.jblk.bridge.ChainWalker}, {@link io.jblk.bridge.DescriptorChain},
 *       {@link io.jblk.bridge.Descriptor};</li>
 *   <li>requests: {@link io.jblk.bridge.VirtioBlkRequest} (framing), {@link io.jblk.bridge.BlkRequestExecutor}
 *       (checks and I/O), {@link io.jblk.bridge.VirtioBlkConfig}, {@link io.jblk.bridge.VirtioBlkFeatures};</li>
 *   <li>the device core (negotiation, status, queues, interrupt status, reset, drain, polled delivery):
 *       {@link io.jblk.bridge.VirtioBlkDevice} and its {@link io.jblk.bridge.InterruptSink};</li>
 *   <li>virtio-mmio: {@link io.jblk.bridge.VirtioMmioTransport} and {@link io.jblk.bridge.InterruptLine}.</li>
 * </ul>
 *
 * docs/emulator-bridge.md has the thread contract and an example of each way in.
 */
module io.jblk.bridge {
    requires transitive io.jblk.api;
    exports io.jblk.bridge;
}
