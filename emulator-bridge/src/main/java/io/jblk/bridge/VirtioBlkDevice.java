package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionException;

import static io.jblk.bridge.VirtioBlkFeatures.bit;

/**
 * A virtio-blk device, independent of the transport: feature negotiation, device status, queue configuration,
 * config space, {@link #queueNotify(int) queue notifications} and {@link #reset()}. Requests go asynchronously to a
 * {@link BlockDevice}; completions are published in the used rings and signalled through an {@link InterruptSink}.
 *
 * <p>Use it through {@link VirtioMmioTransport}, or drive these methods from your own (e.g. PCI) transport:
 * <pre>{@code
 * BlockDevice disk = BlockDrivers.open(Path.of("disk.qcow2"), "qcow2", OpenOptions.defaults());
 * VirtioMmioTransport mmio = VirtioBlkDevice.builder(disk, guestMemory)
 *         .queues(2).serial("jblk-0").closeBlockDeviceOnClose(true)
 *         .buildMmio(asserted -> cpu.setIrqLevel(5, asserted));
 * // MMIO window handler: mmio.read(offset, size) / mmio.write(offset, size, value)
 * }</pre>
 *
 * <p>Everything the guest can get wrong is answered with a request status (IOERR/UNSUPP) or with
 * DEVICE_NEEDS_RESET and a log line; no guest input makes a method of this class throw.
 */
public final class VirtioBlkDevice implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");
    /** VIRTIO_BLK_ID_BYTES: the length of the GET_ID serial. */
    public static final int SERIAL_BYTES = 20;

    private final BlockDevice device;
    private final GuestMemory memory;
    private final int numQueues;
    private final int maxQueueSize;
    private final byte[] serial;
    private final boolean closeBlockDevice;
    private final VirtioBlkConfig config;
    private final byte[] configBytes;
    private final long deviceFeatures;
    private final InterruptSink sink;
    private final GuestErrorLog errors = new GuestErrorLog();

    private final QueueSettings[] queues;
    private int status;
    private long driverFeatures;
    private BlkRequestExecutor executor;
    private boolean broken;
    private boolean closed;
    private final Object idle = new Object();
    private int inFlight; // guarded by idle

    /** What the driver configured for one queue (before and after QueueReady). */
    private static final class QueueSettings {
        int size;
        long desc;
        long driver;
        long device;
        volatile ActiveQueue active;
    }

    private VirtioBlkDevice(Builder b, InterruptSink sink) {
        this.device = b.device;
        this.memory = b.memory;
        this.numQueues = b.queues;
        this.maxQueueSize = b.queueSize;
        this.serial = b.serial;
        this.closeBlockDevice = b.closeBlockDevice;
        this.sink = sink;
        this.config = VirtioBlkConfig.of(device, numQueues, maxQueueSize, b.maxDiscardSegments);
        this.configBytes = config.encode();
        long f = bit(VirtioBlkFeatures.VERSION_1) | bit(VirtioBlkFeatures.SIZE_MAX) | bit(VirtioBlkFeatures.SEG_MAX)
                | bit(VirtioBlkFeatures.BLK_SIZE) | bit(VirtioBlkFeatures.FLUSH) | bit(VirtioBlkFeatures.TOPOLOGY)
                | bit(VirtioBlkFeatures.RING_INDIRECT_DESC) | bit(VirtioBlkFeatures.RING_EVENT_IDX);
        if (numQueues > 1) {
            f |= bit(VirtioBlkFeatures.MQ);
        }
        f |= device.isReadOnly() ? bit(VirtioBlkFeatures.RO)
                : bit(VirtioBlkFeatures.DISCARD) | bit(VirtioBlkFeatures.WRITE_ZEROES);
        this.deviceFeatures = f;
        this.queues = new QueueSettings[numQueues];
        for (int i = 0; i < numQueues; i++) {
            queues[i] = new QueueSettings();
            queues[i].size = maxQueueSize;
        }
    }

    public static Builder builder(BlockDevice device, GuestMemory memory) {
        return new Builder(Objects.requireNonNull(device), Objects.requireNonNull(memory));
    }

    /**
     * Opens {@code image} through the installed drivers ({@code format} null = probe; never probe images a guest
     * can write) and returns a builder that closes the block device with the virtio device.
     */
    public static Builder open(Path image, String format, OpenOptions options, GuestMemory memory)
            throws IOException {
        return builder(BlockDrivers.open(image, format, options), memory).closeBlockDeviceOnClose(true);
    }

    public BlockDevice blockDevice() {
        return device;
    }

    public VirtioBlkConfig config() {
        return config;
    }

    public int numQueues() {
        return numQueues;
    }

    public long deviceFeatures() {
        return deviceFeatures;
    }

    public synchronized long driverFeatures() {
        return driverFeatures;
    }

    /** Records the features the driver accepts; ignored once FEATURES_OK is set. */
    public synchronized void setDriverFeatures(long features) {
        if ((status & DeviceStatus.FEATURES_OK) == 0) {
            driverFeatures = features;
        }
    }

    public synchronized int status() {
        return status;
    }

    /**
     * The driver writes the status: 0 resets the device; FEATURES_OK is kept only when the accepted features are a
     * subset of the offered ones and include VERSION_1; DRIVER_OK starts the queues.
     */
    public void setStatus(int value) {
        if (value == 0) {
            reset();
            return;
        }
        synchronized (this) {
            int added = value & ~status;
            int next = (status & DeviceStatus.DEVICE_NEEDS_RESET) | (value & ~DeviceStatus.DEVICE_NEEDS_RESET);
            if ((added & DeviceStatus.FEATURES_OK) != 0) {
                if ((driverFeatures & ~deviceFeatures) != 0
                        || !VirtioBlkFeatures.has(driverFeatures, VirtioBlkFeatures.VERSION_1)) {
                    LOG.log(System.Logger.Level.WARNING, "virtio-blk: refusing FEATURES_OK for driver features 0x{0}"
                            + " (offered 0x{1}, VERSION_1 required)", Long.toHexString(driverFeatures),
                            Long.toHexString(deviceFeatures));
                    next &= ~DeviceStatus.FEATURES_OK;
                } else {
                    executor = new BlkRequestExecutor(device, config, serial, driverFeatures);
                }
            }
            status = next;
        }
        if ((value & DeviceStatus.DRIVER_OK) != 0) {
            for (int q = 0; q < numQueues; q++) {
                queueNotify(q); // chains published before DRIVER_OK are served now
            }
        }
    }

    public int maxQueueSize(int queue) {
        return queue >= 0 && queue < numQueues ? maxQueueSize : 0;
    }

    public synchronized int queueSize(int queue) {
        return valid(queue) ? queues[queue].size : 0;
    }

    public synchronized long queueDescAddress(int queue) {
        return valid(queue) ? queues[queue].desc : 0;
    }

    public synchronized long queueDriverAddress(int queue) {
        return valid(queue) ? queues[queue].driver : 0;
    }

    public synchronized long queueDeviceAddress(int queue) {
        return valid(queue) ? queues[queue].device : 0;
    }

    /** Queue size chosen by the driver; ignored for a missing or ready queue. */
    public synchronized void setQueueSize(int queue, int size) {
        if (configurable(queue)) {
            queues[queue].size = size;
        }
    }

    /** Guest-physical addresses of the descriptor table, avail (driver) ring and used (device) ring. */
    public synchronized void setQueueAddresses(int queue, long desc, long driver, long device) {
        if (configurable(queue)) {
            queues[queue].desc = desc;
            queues[queue].driver = driver;
            queues[queue].device = device;
        }
    }

    public boolean queueReady(int queue) {
        return valid(queue) && queues[queue].active != null;
    }

    /**
     * Enables the queue with the configured geometry (checked against guest memory; a bad one sets
     * DEVICE_NEEDS_RESET) or disables it, dropping its outstanding completions.
     */
    public void setQueueReady(int queue, boolean ready) {
        String fault = null;
        ActiveQueue stopped = null;
        synchronized (this) {
            if (!valid(queue)) {
                return;
            }
            QueueSettings q = queues[queue];
            if (!ready) {
                if (q.active != null) {
                    q.active.close();
                    stopped = q.active;
                    q.active = null;
                }
            }
        }
        if (stopped != null) {
            stopped.quiesce();
        }
        if (!ready) {
            return;
        }
        synchronized (this) {
            QueueSettings q = queues[queue];
            if (q.active != null) {
                return;
            }
            if (q.size > maxQueueSize) {
                fault = "queue " + queue + " size " + q.size + " exceeds the maximum " + maxQueueSize;
            } else {
                try {
                    SplitVirtqueue ring = new SplitVirtqueue(memory, q.size, q.desc, q.driver, q.device,
                            VirtioBlkFeatures.has(driverFeatures, VirtioBlkFeatures.RING_EVENT_IDX));
                    q.active = new ActiveQueue(queue, ring, new ChainWalker(memory,
                            VirtioBlkFeatures.has(driverFeatures, VirtioBlkFeatures.RING_INDIRECT_DESC)), this, errors);
                } catch (VirtqueueException e) {
                    fault = "queue " + queue + ": " + e.getMessage();
                }
            }
        }
        if (fault != null) {
            needsReset(fault);
        }
    }

    /** The driver kicked {@code queue}: serve every available request. Ignored unless the device is running. */
    public void queueNotify(int queue) {
        ActiveQueue q;
        BlkRequestExecutor e;
        synchronized (this) {
            if (!valid(queue) || broken || closed || (status & DeviceStatus.DRIVER_OK) == 0 || executor == null) {
                return;
            }
            q = queues[queue].active;
            e = executor;
        }
        if (q != null) {
            q.notifyQueue(e);
        }
    }

    /** Reads {@code size} (1, 2, 4 or 8) bytes of config space, little-endian; bytes past the layout read as 0. */
    public long readConfig(int offset, int size) {
        long value = 0;
        for (int i = size - 1; i >= 0; i--) {
            int at = offset + i;
            value = (value << 8) | (at >= 0 && at < configBytes.length ? configBytes[at] & 0xFF : 0);
        }
        return value;
    }

    /** The config space never changes while the device lives, so its generation is constant. */
    public int configGeneration() {
        return 0;
    }

    /**
     * Resets the device: every queue stops, requests in flight are waited for (their data may still land in
     * guest buffers, but no status byte or used element is written for them), and all settings return to their
     * initial values. Returns once nothing more will touch guest memory.
     */
    public void reset() {
        List<ActiveQueue> stopped = new ArrayList<>();
        synchronized (this) {
            for (QueueSettings q : queues) {
                if (q.active != null) {
                    q.active.close();
                    stopped.add(q.active);
                    q.active = null;
                }
            }
        }
        stopped.forEach(ActiveQueue::quiesce);
        awaitIdle();
        synchronized (this) {
            status = 0;
            driverFeatures = 0;
            executor = null;
            broken = false;
            for (QueueSettings q : queues) {
                q.size = maxQueueSize;
                q.desc = 0;
                q.driver = 0;
                q.device = 0;
            }
        }
    }

    /** Resets the device, flushes the block device and, when the builder said so, closes it. Idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        reset();
        try {
            if (!device.isReadOnly()) {
                device.flush().join();
            }
        } catch (CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("flush on close failed", e);
        } finally {
            if (closeBlockDevice) {
                device.close();
            }
        }
    }

    /** Puts the device into DEVICE_NEEDS_RESET: it stops serving queues until the driver resets it. */
    void needsReset(String why) {
        LOG.log(System.Logger.Level.ERROR, "virtio-blk needs reset: {0}", why);
        synchronized (this) {
            if (broken) {
                return;
            }
            broken = true;
            status |= DeviceStatus.DEVICE_NEEDS_RESET;
        }
        sink.configChanged();
    }

    /** Whether the device stopped serving because of a queue-level fault. */
    public synchronized boolean needsReset() {
        return broken;
    }

    void interrupt(int queue) {
        sink.usedBuffers(queue);
    }

    void requestStarted() {
        synchronized (idle) {
            inFlight++;
        }
    }

    void requestFinished() {
        synchronized (idle) {
            if (--inFlight == 0) {
                idle.notifyAll();
            }
        }
    }

    /** Guest requests answered with IOERR or UNSUPP (or returned without a status) since the device was built. */
    public long guestErrors() {
        return errors.count();
    }

    /** Requests handed to the block device and not yet completed. */
    public int requestsInFlight() {
        synchronized (idle) {
            return inFlight;
        }
    }

    private void awaitIdle() {
        boolean interrupted = false;
        synchronized (idle) {
            while (inFlight > 0) {
                try {
                    idle.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // the wait must finish: returning early could let I/O land after reset
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean valid(int queue) {
        return queue >= 0 && queue < numQueues;
    }

    private boolean configurable(int queue) {
        return valid(queue) && queues[queue].active == null;
    }

    /** Wires a device by hand; every setting has a working default except the block device and guest memory. */
    public static final class Builder {
        private final BlockDevice device;
        private final GuestMemory memory;
        private int queues = 1;
        private int queueSize = 256;
        private int maxDiscardSegments = 32;
        private byte[] serial = new byte[0];
        private boolean closeBlockDevice;

        private Builder(BlockDevice device, GuestMemory memory) {
            this.device = device;
            this.memory = memory;
        }

        /** Number of request queues (1 to 65535; MQ is offered when more than one). */
        public Builder queues(int count) {
            if (count < 1 || count > 0xFFFF) {
                throw new IllegalArgumentException("queue count must be in [1, 65535], got " + count);
            }
            this.queues = count;
            return this;
        }

        /** Largest queue size the driver may choose (a power of two up to 32768). */
        public Builder queueSize(int size) {
            if (size < 2 || size > SplitVirtqueue.MAX_SIZE || Integer.bitCount(size) != 1) {
                throw new IllegalArgumentException("queue size must be a power of two in [2, 32768], got " + size);
            }
            this.queueSize = size;
            return this;
        }

        /** Most segments per DISCARD or WRITE_ZEROES request. */
        public Builder maxDiscardSegments(int count) {
            if (count < 1) {
                throw new IllegalArgumentException("max discard segments must be positive, got " + count);
            }
            this.maxDiscardSegments = count;
            return this;
        }

        /** The GET_ID serial, at most 20 bytes of ASCII. */
        public Builder serial(String value) {
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            if (bytes.length > SERIAL_BYTES) {
                throw new IllegalArgumentException("serial '" + value + "' is longer than " + SERIAL_BYTES
                        + " bytes");
            }
            this.serial = bytes;
            return this;
        }

        /** Whether {@link VirtioBlkDevice#close()} also closes the block device. */
        public Builder closeBlockDeviceOnClose(boolean value) {
            this.closeBlockDevice = value;
            return this;
        }

        /** The transport-independent core, signalling through {@code sink}. */
        public VirtioBlkDevice build(InterruptSink sink) {
            return new VirtioBlkDevice(this, Objects.requireNonNull(sink));
        }

        /** A complete virtio-mmio device whose interrupt line is {@code line}. */
        public VirtioMmioTransport buildMmio(InterruptLine line) {
            return new VirtioMmioTransport(this, Objects.requireNonNull(line));
        }
    }

}
