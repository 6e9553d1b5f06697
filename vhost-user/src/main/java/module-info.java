/**
 * A vhost-user-blk back-end: VMMs that speak vhost-user (QEMU, cloud-hypervisor, crosvm) use a jblk image as a
 * virtio-blk disk. The control channel and guest memory come through {@code io.jblk.nativeio}'s descriptor-passing
 * classes; virtqueues and requests are the emulator bridge's.
 */
module io.jblk.vhost {
    requires transitive io.jblk.api;
    requires io.jblk.nativeio;
    requires io.jblk.bridge;
    exports io.jblk.vhost;
}
