package io.jblk.vhost;

/**
 * The vhost-user rings' data path over the emulator bridge's split virtqueue, chain walker and request executor.
 * Wired once the bridge exposes them to other transports (issue 15); until then starting a ring is refused.
 */
final class BridgeQueueProcessor {
    private BridgeQueueProcessor() {
    }

    static QueueProcessor.Factory factory(BlkBackend backend) {
        return (queue, memory, size, desc, avail, used, base, features, call, broken) -> {
            throw new IllegalArgumentException("the vhost-user data path is not wired to the emulator bridge yet");
        };
    }
}
