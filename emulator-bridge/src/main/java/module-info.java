/** A virtio-blk device (virtio-mmio transport, split virtqueues in guest memory) answered by any block driver. */
module io.jblk.bridge {
    requires io.jblk.api;
}
