/** A virtio-blk device (virtio-mmio transport, split virtqueues in guest memory) answered by any block driver. */
module io.jblk.bridge {
    requires transitive io.jblk.api;
    exports io.jblk.bridge;
}
