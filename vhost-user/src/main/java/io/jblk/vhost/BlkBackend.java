package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.bridge.VirtioBlkConfig;
import io.jblk.bridge.VirtioBlkFeatures;

import static io.jblk.bridge.VirtioBlkFeatures.bit;

/**
 * The virtio-blk device a vhost-user session exposes: the block device, the queue count and size, the serial, the
 * device features and the config space. Outlives connections: a front-end that reconnects meets the same device.
 */
final class BlkBackend {
    private final BlockDevice device;
    private final int numQueues;
    private final int maxQueueSize;
    private final byte[] serial;
    private final VirtioBlkConfig config;
    private final byte[] configSpace;
    private final long deviceFeatures;

    BlkBackend(BlockDevice device, int numQueues, int maxQueueSize, byte[] serial, int maxDiscardSegments) {
        this.device = device;
        this.numQueues = numQueues;
        this.maxQueueSize = maxQueueSize;
        this.serial = serial.clone();
        this.config = VirtioBlkConfig.of(device, numQueues, maxQueueSize, maxDiscardSegments);
        this.configSpace = config.encode();
        // The feature set the emulator bridge's virtio-blk device offers, so that both transports behave alike.
        long f = bit(VirtioBlkFeatures.VERSION_1) | bit(VirtioBlkFeatures.SIZE_MAX) | bit(VirtioBlkFeatures.SEG_MAX)
                | bit(VirtioBlkFeatures.BLK_SIZE) | bit(VirtioBlkFeatures.FLUSH) | bit(VirtioBlkFeatures.TOPOLOGY)
                | bit(VirtioBlkFeatures.RING_INDIRECT_DESC) | bit(VirtioBlkFeatures.RING_EVENT_IDX);
        if (numQueues > 1) {
            f |= bit(VirtioBlkFeatures.MQ);
        }
        f |= device.isReadOnly() ? bit(VirtioBlkFeatures.RO)
                : bit(VirtioBlkFeatures.DISCARD) | bit(VirtioBlkFeatures.WRITE_ZEROES);
        this.deviceFeatures = f;
    }

    BlockDevice device() {
        return device;
    }

    int numQueues() {
        return numQueues;
    }

    int maxQueueSize() {
        return maxQueueSize;
    }

    byte[] serial() {
        return serial.clone();
    }

    VirtioBlkConfig config() {
        return config;
    }

    byte[] configSpace() {
        return configSpace.clone();
    }

    long deviceFeatures() {
        return deviceFeatures;
    }
}
