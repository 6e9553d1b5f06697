package io.jblk.vhost;

/**
 * Wire constants of the vhost-user protocol (QEMU {@code docs/interop/vhost-user.rst}): header flags, feature and
 * protocol-feature bits, payload shapes' sizes and the limits this back-end enforces. The one place these numbers
 * live.
 */
final class VhostUserProtocol {
    private VhostUserProtocol() {
    }

    /** request u32, flags u32, size u32. */
    static final int HEADER_SIZE = 12;
    static final int VERSION = 0x1;
    static final int VERSION_MASK = 0x3;
    static final int FLAG_REPLY = 1 << 2;
    static final int FLAG_NEED_REPLY = 1 << 3;

    /**
     * Largest payload accepted. The biggest request a block back-end takes is SET_MEM_TABLE with 8 regions
     * (8 + 8 x 32 = 264 bytes) or GET_CONFIG with 256 bytes of config (12 + 256); anything larger is a broken or
     * hostile front-end, and the connection is dropped rather than the payload buffered.
     */
    static final int MAX_PAYLOAD = 4096;

    /** VHOST_USER_F_PROTOCOL_FEATURES, the reserved virtio feature bit vhost-user reuses. */
    static final int F_PROTOCOL_FEATURES = 30;
    /** VHOST_F_LOG_ALL: dirty logging for live migration (not offered). */
    static final int F_LOG_ALL = 26;

    // Protocol feature bits.
    static final int PF_MQ = 0;
    static final int PF_LOG_SHMFD = 1;
    static final int PF_REPLY_ACK = 3;
    static final int PF_BACKEND_REQ = 5;
    static final int PF_CONFIG = 9;
    static final int PF_INFLIGHT_SHMFD = 12;
    static final int PF_INBAND_NOTIFICATIONS = 14;
    static final int PF_CONFIGURE_MEM_SLOTS = 15;

    /** SET_VRING_KICK/CALL/ERR payload: vring index in bits 0-7, bit 8 = no descriptor attached. */
    static final long VRING_INDEX_MASK = 0xFF;
    static final long VRING_NOFD = 1L << 8;

    /** SET_VRING_ADDR flags: VHOST_VRING_F_LOG. */
    static final int VRING_F_LOG = 1;

    /** SET_MEM_TABLE carries at most this many regions (VHOST_MEMORY_BASELINE_NREGIONS). */
    static final int MEM_TABLE_MAX_REGIONS = 8;
    /** One region: guest_phys_addr, memory_size, userspace_addr, mmap_offset (u64 each). */
    static final int REGION_SIZE = 32;
    /** Memory slots offered with CONFIGURE_MEM_SLOTS (GET_MAX_MEM_SLOTS). */
    static final int MAX_MEM_SLOTS = 32;

    /** GET/SET_CONFIG: offset u32, size u32, flags u32, then the bytes. */
    static final int CONFIG_HEADER = 12;
    static final int CONFIG_SPACE_MAX = 256;

    /**
     * GET/SET_INFLIGHT_FD: mmap_size u64, mmap_offset u64, num_queues u16, queue_size u16, padded to the struct's
     * 8-byte alignment (QEMU 7.2 sends and expects 24 bytes).
     */
    static final int INFLIGHT_DESCRIPTION = 24;

    static long bit(int n) {
        return 1L << n;
    }
}
