package io.jblk.bridge;

import java.time.Duration;
import java.util.Objects;

/**
 * The virtio-mmio (version 2) register block of a {@link VirtioBlkDevice}: map it at an MMIO window, forward the
 * window's accesses to {@link #read} and {@link #write}, and {@link #connect} an {@link InterruptLine}.
 *
 * <p>Registers below 0x100 accept only aligned 32-bit accesses (others read 0 and are ignored, as the spec lets a
 * device do); the config space at 0x100 accepts 1, 2, 4 and 8-byte reads and is read-only.
 *
 * <p><b>Which thread may call what.</b> {@link #read}, {@link #write}, {@link #poll}, {@link #drain},
 * {@link #reset}, {@link #connect}, {@link #interruptAsserted} and {@link #close} may be called from any thread,
 * concurrently (several vCPUs), including with the emulator's own locks held; none of them holds a jblk lock while
 * it calls the emulator. {@link #read} never blocks and never calls out. {@link #write} calls the
 * {@link InterruptLine} on the calling thread when the access changes the line (InterruptACK, STATUS) and, in
 * threaded mode, serves a kick there. {@link #reset}, {@link #close} and the guest's STATUS=0 wait for the block
 * device's requests in flight; nothing they wait for needs the emulator's threads, so they are safe under a machine
 * lock. They must not be called from inside {@link InterruptLine#set} (nor from a {@code workPending} hook), which
 * may run on a jblk thread. See {@link InterruptLine} for when the line is called.
 */
public final class VirtioMmioTransport implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");

    public static final int MAGIC_VALUE = 0x000;
    public static final int VERSION = 0x004;
    public static final int DEVICE_ID = 0x008;
    public static final int VENDOR_ID = 0x00c;
    public static final int DEVICE_FEATURES = 0x010;
    public static final int DEVICE_FEATURES_SEL = 0x014;
    public static final int DRIVER_FEATURES = 0x020;
    public static final int DRIVER_FEATURES_SEL = 0x024;
    public static final int QUEUE_SEL = 0x030;
    public static final int QUEUE_NUM_MAX = 0x034;
    public static final int QUEUE_NUM = 0x038;
    public static final int QUEUE_READY = 0x044;
    public static final int QUEUE_NOTIFY = 0x050;
    public static final int INTERRUPT_STATUS = 0x060;
    public static final int INTERRUPT_ACK = 0x064;
    public static final int STATUS = 0x070;
    public static final int QUEUE_DESC_LOW = 0x080;
    public static final int QUEUE_DESC_HIGH = 0x084;
    public static final int QUEUE_DRIVER_LOW = 0x090;
    public static final int QUEUE_DRIVER_HIGH = 0x094;
    public static final int QUEUE_DEVICE_LOW = 0x0a0;
    public static final int QUEUE_DEVICE_HIGH = 0x0a4;
    public static final int SHM_SEL = 0x0ac;
    public static final int SHM_LEN_LOW = 0x0b0;
    public static final int SHM_LEN_HIGH = 0x0b4;
    public static final int SHM_BASE_LOW = 0x0b8;
    public static final int SHM_BASE_HIGH = 0x0bc;
    public static final int CONFIG_GENERATION = 0x0fc;
    public static final int CONFIG = 0x100;
    /** Size of the MMIO window to map. */
    public static final int WINDOW_SIZE = 0x200;

    public static final int MAGIC = 0x74726976; // "virt"
    public static final int VIRTIO_ID_BLOCK = 2;
    public static final int VENDOR = 0x4b4c424a; // "JBLK"
    public static final int INT_USED_BUFFER = VirtioBlkDevice.INTERRUPT_USED_BUFFER;
    public static final int INT_CONFIG = VirtioBlkDevice.INTERRUPT_CONFIG;

    private final VirtioBlkDevice device;
    private final EmbedderCallout lineCalls = new EmbedderCallout("jblk-virtio-line", this::deliverLevel);
    private volatile InterruptLine line;
    private boolean lineLevel; // the level last passed to the line; only the callout's runner touches it
    // Register selectors and the driver-features accumulator; guarded by this (no call out under it).
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;

    VirtioMmioTransport(VirtioBlkDevice.Builder builder) {
        this.device = builder.build(new InterruptSink() {
            @Override
            public void usedBuffers(int queue) {
                lineCalls.runHere(); // the device calls its sink on an embedder or delivery thread, never under a lock
            }

            @Override
            public void configChanged() {
                lineCalls.runHere();
            }

            @Override
            public void deviceReset() {
                synchronized (VirtioMmioTransport.this) {
                    driverFeatures = 0;
                    deviceFeaturesSel = 0;
                    driverFeaturesSel = 0;
                    queueSel = 0;
                }
                lineCalls.runHere();
            }
        });
    }

    /**
     * Connects the emulator's interrupt line (once; {@code buildMmio(line)} does it for you). Until then interrupts
     * are only recorded in InterruptStatus; when connected with the status already non-zero, the line is raised
     * before this returns.
     *
     * @throws IllegalStateException when a line is already connected
     */
    public void connect(InterruptLine line) {
        Objects.requireNonNull(line);
        synchronized (this) {
            if (this.line != null) {
                throw new IllegalStateException("an interrupt line is already connected");
            }
            this.line = line;
        }
        lineCalls.runHere();
    }

    public VirtioBlkDevice device() {
        return device;
    }

    /**
     * Whether the device currently asserts its line (InterruptStatus != 0). Lock-free, so an emulator may call it
     * inside {@link InterruptLine#set} under its own lock to read the exact current level.
     */
    public boolean interruptAsserted() {
        return device.interruptStatus() != 0;
    }

    /**
     * Polled mode: the CPU loop's call; see {@link VirtioBlkDevice#poll()}. The line changes inside it. Returns the
     * number of completions published (0 in threaded mode).
     */
    public int poll() {
        return device.poll();
    }

    /** Waits until every request taken from the rings is complete and published; see {@link VirtioBlkDevice#drain}. */
    public boolean drain(Duration timeout) throws InterruptedException {
        return device.drain(timeout);
    }

    /**
     * The emulator's board reset: the device resets as if the guest wrote STATUS=0 (queues stopped, completions
     * from before dropped, requests in flight waited for, registers cleared) and the line goes low. See
     * {@link VirtioBlkDevice#reset()}; {@code device().reset()} does the same.
     */
    public void reset() {
        device.reset();
    }

    /** A guest read of {@code size} bytes at {@code offset} in the window. */
    public long read(int offset, int size) {
        if (offset >= CONFIG) {
            return size == 1 || size == 2 || size == 4 || size == 8 ? device.readConfig(offset - CONFIG, size) : 0;
        }
        if (size != 4 || (offset & 3) != 0) {
            LOG.log(System.Logger.Level.WARNING, "virtio-mmio: {0}-byte read at 0x{1} ignored", size,
                    Integer.toHexString(offset));
            return 0;
        }
        return switch (offset) {
            case MAGIC_VALUE -> MAGIC;
            case VERSION -> 2;
            case DEVICE_ID -> VIRTIO_ID_BLOCK;
            case VENDOR_ID -> VENDOR;
            case DEVICE_FEATURES -> selectHalf(device.deviceFeatures(), deviceFeaturesSel());
            case QUEUE_NUM_MAX -> device.maxQueueSize(queueSel());
            case QUEUE_READY -> device.queueReady(queueSel()) ? 1 : 0;
            case INTERRUPT_STATUS -> device.interruptStatus();
            case STATUS -> device.status();
            case CONFIG_GENERATION -> device.configGeneration();
            case QUEUE_NUM -> device.queueSize(queueSel());
            case QUEUE_DESC_LOW -> low(device.queueDescAddress(queueSel()));
            case QUEUE_DESC_HIGH -> high(device.queueDescAddress(queueSel()));
            case QUEUE_DRIVER_LOW -> low(device.queueDriverAddress(queueSel()));
            case QUEUE_DRIVER_HIGH -> high(device.queueDriverAddress(queueSel()));
            case QUEUE_DEVICE_LOW -> low(device.queueDeviceAddress(queueSel()));
            case QUEUE_DEVICE_HIGH -> high(device.queueDeviceAddress(queueSel()));
            // no shared memory regions: the spec's "does not exist" answer is an all-ones length and base
            case SHM_LEN_LOW, SHM_LEN_HIGH, SHM_BASE_LOW, SHM_BASE_HIGH -> 0xFFFF_FFFFL;
            default -> 0;
        };
    }

    /** A guest write of {@code size} bytes at {@code offset} in the window. */
    public void write(int offset, int size, long value) {
        if (offset >= CONFIG) {
            return; // no writable config field is offered (CONFIG_WCE is not)
        }
        if (size != 4 || (offset & 3) != 0) {
            LOG.log(System.Logger.Level.WARNING, "virtio-mmio: {0}-byte write at 0x{1} ignored", size,
                    Integer.toHexString(offset));
            return;
        }
        int v = (int) value;
        switch (offset) {
            case DEVICE_FEATURES_SEL -> {
                synchronized (this) {
                    deviceFeaturesSel = v;
                }
            }
            case DRIVER_FEATURES_SEL -> {
                synchronized (this) {
                    driverFeaturesSel = v;
                }
            }
            case DRIVER_FEATURES -> {
                long features;
                synchronized (this) {
                    if (driverFeaturesSel == 0) {
                        driverFeatures = (driverFeatures & ~0xFFFF_FFFFL) | Integer.toUnsignedLong(v);
                    } else if (driverFeaturesSel == 1) {
                        driverFeatures = (driverFeatures & 0xFFFF_FFFFL) | ((long) v << 32);
                    }
                    features = driverFeatures;
                }
                device.setDriverFeatures(features);
            }
            case QUEUE_SEL -> {
                synchronized (this) {
                    queueSel = v;
                }
            }
            case QUEUE_NUM -> device.setQueueSize(queueSel(), v);
            case QUEUE_READY -> device.setQueueReady(queueSel(), v == 1);
            case QUEUE_NOTIFY -> device.queueNotify(v & 0xFFFF); // high bits: VIRTIO_F_NOTIFICATION_DATA, not offered
            case INTERRUPT_ACK -> {
                device.acknowledgeInterrupt(v);
                lineCalls.runHere();
            }
            case STATUS -> device.setStatus(v); // 0 resets: the device tells us (deviceReset) and the line drops
            case QUEUE_DESC_LOW, QUEUE_DESC_HIGH, QUEUE_DRIVER_LOW, QUEUE_DRIVER_HIGH, QUEUE_DEVICE_LOW,
                 QUEUE_DEVICE_HIGH -> setAddressHalf(offset, v);
            default -> LOG.log(System.Logger.Level.DEBUG, "virtio-mmio: write to read-only or unknown register 0x{0}",
                    Integer.toHexString(offset));
        }
    }

    private void setAddressHalf(int offset, int v) {
        int q = queueSel();
        long desc = device.queueDescAddress(q);
        long driver = device.queueDriverAddress(q);
        long dev = device.queueDeviceAddress(q);
        switch (offset) {
            case QUEUE_DESC_LOW -> desc = withLow(desc, v);
            case QUEUE_DESC_HIGH -> desc = withHigh(desc, v);
            case QUEUE_DRIVER_LOW -> driver = withLow(driver, v);
            case QUEUE_DRIVER_HIGH -> driver = withHigh(driver, v);
            case QUEUE_DEVICE_LOW -> dev = withLow(dev, v);
            default -> dev = withHigh(dev, v);
        }
        device.setQueueAddresses(q, desc, driver, dev);
    }

    /** The callout's action: passes the current level to the line when it differs from the last one passed. */
    private void deliverLevel() {
        InterruptLine l = line;
        if (l == null) {
            return;
        }
        boolean level = device.interruptStatus() != 0;
        if (level != lineLevel) {
            lineLevel = level;
            l.set(level);
        }
    }

    private synchronized int queueSel() {
        return queueSel;
    }

    private synchronized int deviceFeaturesSel() {
        return deviceFeaturesSel;
    }

    private static long selectHalf(long value, int sel) {
        return sel == 0 ? low(value) : sel == 1 ? high(value) : 0;
    }

    private static long low(long value) {
        return value & 0xFFFF_FFFFL;
    }

    private static long high(long value) {
        return value >>> 32;
    }

    private static long withLow(long value, int low) {
        return (value & ~0xFFFF_FFFFL) | Integer.toUnsignedLong(low);
    }

    private static long withHigh(long value, int high) {
        return (value & 0xFFFF_FFFFL) | ((long) high << 32);
    }

    /**
     * Resets the device (the line goes low), flushes, and closes the block device when the builder said so.
     * Idempotent. An emulator without a close hook can have this done at JVM exit with
     * {@link VirtioBlkDevice.Builder#closeAtJvmExit}; what a missing close costs is in docs/emulator-bridge.md.
     *
     * @throws java.io.UncheckedIOException when the final flush or close fails (the device is closed all the same)
     */
    @Override
    public void close() {
        device.close();
    }
}
