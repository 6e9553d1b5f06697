package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static io.jblk.bridge.VirtioBlkFeatures.bit;

/**
 * A virtio-blk device, independent of the transport: feature negotiation, device status, queue configuration,
 * config space, interrupt status, {@link #queueNotify(int) queue notifications}, {@link #poll()},
 * {@link #drain(Duration)} and {@link #reset()}. Requests go asynchronously to a {@link BlockDevice}; completions are
 * published in the used rings and signalled through an {@link InterruptSink}.
 *
 * <p>Use it through {@link VirtioMmioTransport}, or drive these methods from your own transport (PCI, vhost-user):
 * <pre>{@code
 * BlockDevice disk = BlockDrivers.open(Path.of("disk.qcow2"), "qcow2", OpenOptions.defaults());
 * VirtioMmioTransport mmio = VirtioBlkDevice.builder(disk, guestMemory)
 *         .queues(2).serial("jblk-0").closeBlockDeviceOnClose(true)
 *         .buildMmio(asserted -> cpu.setIrqLevel(5, asserted));
 * // MMIO window handler: mmio.read(offset, size) / mmio.write(offset, size, value)
 * }</pre>
 *
 * <p><b>Delivery modes.</b> By default (threaded) a kick is served on the kicking thread and completions are
 * published on jblk's I/O completion threads as they arrive; the transport is told through a jblk delivery thread.
 * With {@link Builder#polled(Runnable)} the device is single-threaded as far as the guest can tell: a kick is only
 * recorded, completions wait in a queue, and everything the guest sees (rings, status bytes, read data, interrupt
 * status, sink calls) changes inside {@link #poll()}, which the emulator calls from its CPU loop; register accesses
 * change registers only.
 *
 * <p><b>Threads.</b> Every public method may be called from any thread, concurrently. None calls into the
 * embedder's code while holding a jblk lock. {@link #reset()} and {@link #close()} wait for the block device's
 * requests in flight, and that wait never depends on the embedder's threads; {@link #drain(Duration)} waits with a
 * bound.
 *
 * <p>Everything the guest can get wrong is answered with a request status (IOERR/UNSUPP) or with
 * DEVICE_NEEDS_RESET and a log line; no guest input makes a method of this class throw.
 */
public final class VirtioBlkDevice implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");
    /** VIRTIO_BLK_ID_BYTES: the length of the GET_ID serial. */
    public static final int SERIAL_BYTES = 20;
    /** Interrupt status bit: a queue has new used buffers. */
    public static final int INTERRUPT_USED_BUFFER = 1;
    /** Interrupt status bit: the configuration changed (here: the device needs a reset). */
    public static final int INTERRUPT_CONFIG = 2;

    private final BlockDevice device;
    private final GuestMemory memory;
    private final int numQueues;
    private final int maxQueueSize;
    private final byte[] serial;
    private final boolean closeBlockDevice;
    private final VirtioBlkConfig config;
    private final byte[] configBytes;
    private final long deviceFeatures;
    private final SinkSignals signals;
    private final InterruptSink sink;
    private final GuestErrorLog errors = new GuestErrorLog();
    private final boolean polled;
    private final EmbedderCallout wake;            // polled mode: the embedder's workPending hook, or null
    private final AtomicBoolean pollWanted = new AtomicBoolean();
    private final InFlight inFlight = new InFlight();
    private final AtomicInteger interruptStatus = new AtomicInteger();
    private final AtomicLong usedBufferInterrupts = new AtomicLong();
    private final Thread exitHook;

    private final QueueSettings[] queues;
    private int status;                 // guarded by this
    private long driverFeatures;        // guarded by this
    private BlkRequestExecutor executor; // guarded by this; set at FEATURES_OK
    private boolean broken;             // guarded by this
    private boolean closed;             // guarded by this
    private NegotiatedState lastSession; // guarded by this; frozen at the reset that ended a negotiated session

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
        this.signals = new SinkSignals(sink, numQueues);
        this.polled = b.polled;
        this.wake = b.workPending == null ? null : new EmbedderCallout("jblk-virtio-wake", b.workPending);
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
        if (b.closeAtJvmExit) {
            exitHook = Thread.ofPlatform().unstarted(this::closeAtExit);
            Runtime.getRuntime().addShutdownHook(exitHook);
        } else {
            exitHook = null;
        }
    }

    public static Builder builder(BlockDevice device, GuestMemory memory) {
        return new Builder(Objects.requireNonNull(device), Objects.requireNonNull(memory));
    }

    /**
     * Opens {@code image} through the installed drivers ({@code format} null = probe; never probe images a guest
     * can write) and returns a builder that closes the block device with the virtio device.
     *
     * @throws UncheckedIOException when the image cannot be opened; its cause is the driver's typed
     *                              {@link IOException} (a missing file, an image that is not {@code format}, ...)
     */
    public static Builder open(Path image, String format, OpenOptions options, GuestMemory memory) {
        try {
            return builder(BlockDrivers.open(image, format, options), memory).closeBlockDeviceOnClose(true);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open " + image + " as a virtio-blk disk: " + e.getMessage(), e);
        }
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

    /** Whether this device delivers in polled mode ({@link Builder#polled(Runnable)}). */
    public boolean isPolled() {
        return polled;
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
                    executor = new BlkRequestExecutor(device, config, serial, driverFeatures, memory, polled);
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
                            VirtioBlkFeatures.has(driverFeatures, VirtioBlkFeatures.RING_INDIRECT_DESC)), memory,
                            this, errors, polled);
                } catch (VirtqueueException e) {
                    fault = "queue " + queue + ": " + e.getMessage();
                } catch (RuntimeException e) {
                    fault = "queue " + queue + ": guest memory failed: " + e;
                }
            }
        }
        if (fault != null) {
            needsReset(null, fault, true);
        }
    }

    /**
     * The driver kicked {@code queue}: serve every available request (polled mode: at the next {@link #poll()}).
     * Ignored unless the device is running.
     */
    public void queueNotify(int queue) {
        ActiveQueue q;
        BlkRequestExecutor e;
        synchronized (this) {
            if (!running() || !valid(queue)) {
                return;
            }
            q = queues[queue].active;
            e = executor;
        }
        if (q == null) {
            return;
        }
        if (polled) {
            q.kick();
            requestPoll(true);
        } else {
            q.notifyQueue(e);
        }
    }

    /**
     * Polled mode: does the work that waits for the emulator's thread (serves kicked queues, publishes completed
     * requests, updates the interrupt status and calls the transport) and returns the number of completions
     * published. Call it from the CPU loop, at least whenever the {@code workPending} hook ran; calling it more
     * often only costs a few atomic reads. In threaded mode it does nothing and returns 0.
     */
    public int poll() {
        if (!polled) {
            return 0;
        }
        pollWanted.set(false);
        ActiveQueue[] active = new ActiveQueue[numQueues];
        BlkRequestExecutor e;
        synchronized (this) {
            e = running() ? executor : null;
            for (int q = 0; q < numQueues; q++) {
                active[q] = queues[q].active;
            }
        }
        int published = 0;
        for (ActiveQueue q : active) {
            if (q != null) {
                published += q.poll(e);
            }
        }
        return published;
    }

    /**
     * Waits until every request the device has taken from the rings is complete and published (for save-state,
     * pause, reset or shutdown: stop the vCPUs first, so no new kick arrives). In polled mode it publishes them
     * itself, as {@link #poll()} does, and then also serves kicks that are still pending.
     *
     * @return true when nothing is in flight any more, false when {@code timeout} passed first (the requests are
     *         still running; {@link #requestsInFlight()} says how many)
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public boolean drain(Duration timeout) throws InterruptedException {
        long nanos = timeout.isNegative() ? 0 : timeout.compareTo(Duration.ofDays(365)) > 0 ? Long.MAX_VALUE / 2
                : timeout.toNanos();
        return inFlight.await(System.nanoTime() + nanos, polled ? this::poll : null);
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
     * The interrupt status: {@link #INTERRUPT_USED_BUFFER} and {@link #INTERRUPT_CONFIG} bits, set when the device
     * signals and cleared by {@link #acknowledgeInterrupt} and by reset. A level-triggered line is asserted while it
     * is not 0. Lock-free: an embedder may read it inside its {@code InterruptLine.set}, under its own lock.
     */
    public int interruptStatus() {
        return interruptStatus.get();
    }

    /** Clears the given interrupt status bits (the driver's InterruptACK). */
    public void acknowledgeInterrupt(int bits) {
        interruptStatus.getAndUpdate(v -> v & ~bits);
    }

    /**
     * Resets the device: every queue stops, completions not yet published are dropped, requests in flight in the
     * block device are waited for (a read may still land in a guest buffer given to the driver directly, and a
     * write must not overtake the next driver's writes), the interrupt status is cleared and all settings return to
     * their initial values; then the transport is told ({@link InterruptSink#deviceReset()}). Once this returns
     * nothing from before the reset touches guest memory or is published. The wait depends only on the block
     * device, never on the embedder's threads; use {@link #drain(Duration)} first to bound it.
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
        inFlight.awaitZero();
        synchronized (this) {
            if (executor != null) {
                Map<Integer, ActiveQueue> rings = new HashMap<>();
                stopped.forEach(a -> rings.put(a.index(), a));
                lastSession = snapshot(rings);
            }
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
            interruptStatus.set(0);
        }
        signals.clear();
        pollWanted.set(false);
        if (!signals.silenced()) {
            sink.deviceReset();
        }
    }

    /**
     * What the driver negotiated in its current session (live while it lasts) or, after a reset, in the last session
     * that reached FEATURES_OK (frozen at that reset); null before any driver got that far. For diagnostics: the
     * ring indices of a running queue are read without synchronising with it.
     */
    public synchronized NegotiatedState lastNegotiation() {
        if (executor == null) {
            return lastSession;
        }
        Map<Integer, ActiveQueue> rings = new HashMap<>();
        for (int q = 0; q < numQueues; q++) {
            if (queues[q].active != null) {
                rings.put(q, queues[q].active);
            }
        }
        return snapshot(rings);
    }

    private NegotiatedState snapshot(Map<Integer, ActiveQueue> rings) {
        List<NegotiatedState.Queue> states = new ArrayList<>();
        for (int i = 0; i < numQueues; i++) {
            QueueSettings q = queues[i];
            ActiveQueue a = rings.get(i);
            states.add(new NegotiatedState.Queue(i, q.size, q.desc, q.driver, q.device, a != null,
                    a != null ? a.ring().nextAvailIndex() : 0, a != null ? a.ring().usedIndex() : 0));
        }
        return new NegotiatedState(deviceFeatures, driverFeatures, status, states);
    }

    /**
     * Resets the device, flushes the block device and, when the builder said so, closes it. Idempotent; after it
     * returns the device does nothing more (a transport call already in progress on a delivery thread may still
     * finish, lowering the line).
     *
     * @throws UncheckedIOException when the final flush or the block device's close fails (the device is closed
     *                              all the same)
     */
    @Override
    public void close() {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (exitHook != null && Thread.currentThread() != exitHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(exitHook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running or about to: it finds the device closed
            }
        }
        reset();
        IOException failure = null;
        try {
            if (!device.isReadOnly()) {
                device.flush().join();
            }
        } catch (CompletionException e) {
            failure = e.getCause() instanceof IOException io ? io : new IOException("flush on close failed", e);
        } finally {
            if (closeBlockDevice) {
                try {
                    device.close();
                } catch (IOException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
        }
        if (failure != null) {
            throw new UncheckedIOException("closing the virtio-blk device: " + failure.getMessage(), failure);
        }
    }

    /** The JVM exit hook: closes without calling the embedder (its threads may be stopped mid-way, holding locks). */
    private void closeAtExit() {
        signals.silence();
        try {
            close();
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "virtio-blk: closing at JVM exit failed", e);
        }
    }

    /**
     * Puts the device into DEVICE_NEEDS_RESET: it stops serving queues until the driver resets it.
     *
     * @param source the queue that found the fault, or null; a queue a reset already stopped is ignored
     * @param here   whether the caller is an embedder thread
     */
    void needsReset(ActiveQueue source, String why, boolean here) {
        synchronized (this) {
            if (broken || closed || (source != null && queues[source.index()].active != source)) {
                return;
            }
            broken = true;
            status |= DeviceStatus.DEVICE_NEEDS_RESET;
            interruptStatus.getAndUpdate(v -> v | INTERRUPT_CONFIG);
        }
        LOG.log(System.Logger.Level.ERROR, "virtio-blk needs reset: {0}", why);
        signals.configChanged(here);
    }

    /** Whether the device stopped serving because of a queue-level fault. */
    public synchronized boolean needsReset() {
        return broken;
    }

    /** A queue published used buffers the guest asked to hear about; called under the queue's fence. */
    void raiseUsedBufferInterrupt() {
        interruptStatus.getAndUpdate(v -> v | INTERRUPT_USED_BUFFER);
        usedBufferInterrupts.incrementAndGet();
    }

    /**
     * How many times a queue signalled used buffers since the device was built: once per published batch that the
     * guest asked to hear about (after EVENT_IDX / NO_INTERRUPT suppression), whether or not the line was already
     * asserted. For statistics and tests.
     */
    public long usedBufferInterrupts() {
        return usedBufferInterrupts.get();
    }

    /** After {@link #raiseUsedBufferInterrupt()}, with no lock held: tells the transport. */
    void signalUsedBuffers(int queue, boolean here) {
        signals.usedBuffers(queue, here);
    }

    /** Polled mode: a completion arrived on an I/O thread and waits for {@link #poll()}. */
    void completionWaiting() {
        requestPoll(false);
        inFlight.completionWaiting();
    }

    private void requestPoll(boolean here) {
        if (pollWanted.compareAndSet(false, true) && wake != null && !signals.silenced()) {
            if (here) {
                wake.runHere();
            } else {
                wake.runElsewhere();
            }
        }
    }

    /** Completed requests not yet published: in polled mode, what the next {@link #poll()} publishes. */
    int completionsWaiting() {
        int n = 0;
        for (QueueSettings q : queues) {
            ActiveQueue a = q.active;
            n += a == null ? 0 : a.completionsWaiting();
        }
        return n;
    }

    void requestStarted() {
        inFlight.started();
    }

    void requestsFinished(int n) {
        inFlight.finished(n);
    }

    /** Guest requests answered with IOERR or UNSUPP (or returned without a status) since the device was built. */
    public long guestErrors() {
        return errors.count();
    }

    /**
     * Requests taken from the rings and not yet published: with the block device, or (polled mode) complete and
     * waiting for {@link #poll()}.
     */
    public int requestsInFlight() {
        return inFlight.count();
    }

    private boolean running() {
        return !broken && !closed && (status & DeviceStatus.DRIVER_OK) != 0 && executor != null;
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
        private boolean polled;
        private Runnable workPending;
        private boolean closeAtJvmExit;

        private Builder(BlockDevice device, GuestMemory memory) {
            this.device = device;
            this.memory = memory;
        }

        /**
         * Number of request queues (1 to 65535; MQ is offered when more than one). Linux's virtio_blk uses at most
         * one queue per possible CPU, so queues beyond the guest's vCPU count stay unused.
         */
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

        /**
         * Polled (single-threaded) delivery: a kick is only recorded, and everything the guest can see changes
         * inside {@link VirtioBlkDevice#poll()} (and the transport's {@code poll()}), which the emulator calls from
         * its CPU loop. Reads are staged through bounce buffers for that, so the guest's RAM is never written on
         * another thread.
         *
         * @param workPending called when {@code poll()} has work (an I/O completed, or a kick was recorded), at
         *                    most once until the next {@code poll()}; typically {@code LockSupport.unpark(cpu)} to
         *                    end a WFI wait. Called without jblk locks: on a jblk thread for completions, inside the
         *                    register write for kicks. Null when the CPU loop polls anyway.
         */
        public Builder polled(Runnable workPending) {
            this.polled = true;
            this.workPending = workPending;
            return this;
        }

        /**
         * Closes the device (waits for requests in flight, flushes, closes the block device when owned) when the
         * JVM exits normally (System.exit, last thread, SIGTERM, SIGINT), for emulators that have no close hook of
         * their own. The hook calls no embedder code: the line, the sink and the wake-up hook stay untouched. Not
         * run on SIGKILL or a JVM crash: see the close contract in docs/emulator-bridge.md.
         */
        public Builder closeAtJvmExit(boolean value) {
            this.closeAtJvmExit = value;
            return this;
        }

        /** The transport-independent core, signalling through {@code sink}. */
        public VirtioBlkDevice build(InterruptSink sink) {
            return new VirtioBlkDevice(this, Objects.requireNonNull(sink));
        }

        /** A complete virtio-mmio device whose interrupt line is connected later ({@link VirtioMmioTransport#connect}). */
        public VirtioMmioTransport buildMmio() {
            return new VirtioMmioTransport(this);
        }

        /** A complete virtio-mmio device whose interrupt line is {@code line}. */
        public VirtioMmioTransport buildMmio(InterruptLine line) {
            VirtioMmioTransport mmio = new VirtioMmioTransport(this);
            mmio.connect(Objects.requireNonNull(line));
            return mmio;
        }
    }
}
