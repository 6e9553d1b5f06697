package io.jblk.bridge;

import java.io.IOException;

/**
 * The virtio-mmio (version 2) register block of a {@link VirtioBlkDevice}: map it at an MMIO window, forward the
 * window's accesses to {@link #read} and {@link #write}, and give it an {@link InterruptLine}.
 *
 * <p>Registers below 0x100 accept only aligned 32-bit accesses (others read 0 and are ignored, as the spec lets a
 * device do); the config space at 0x100 accepts 1, 2, 4 and 8-byte reads and is read-only.
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
    public static final int INT_USED_BUFFER = 1;
    public static final int INT_CONFIG = 2;

    private final VirtioBlkDevice device;
    private final InterruptLine line;
    private int interruptStatus; // guarded by this
    private int deviceFeaturesSel;
    private int driverFeaturesSel;
    private long driverFeatures;
    private int queueSel;

    VirtioMmioTransport(VirtioBlkDevice.Builder builder, InterruptLine line) {
        this.line = line;
        this.device = builder.build(new InterruptSink() {
            @Override
            public void usedBuffers(int queue) {
                raise(INT_USED_BUFFER);
            }

            @Override
            public void configChanged() {
                raise(INT_CONFIG);
            }
        });
    }

    public VirtioBlkDevice device() {
        return device;
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
            case INTERRUPT_STATUS -> interruptStatus();
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
            case INTERRUPT_ACK -> ack(v);
            case STATUS -> {
                if (v == 0) {
                    device.reset();
                    synchronized (this) {
                        driverFeatures = 0;
                        deviceFeaturesSel = 0;
                        driverFeaturesSel = 0;
                        queueSel = 0;
                    }
                    ack(-1);
                } else {
                    device.setStatus(v);
                }
            }
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

    private void raise(int bit) {
        synchronized (this) {
            interruptStatus |= bit;
            line.set(true);
        }
    }

    private void ack(int bits) {
        synchronized (this) {
            interruptStatus &= ~bits;
            if (interruptStatus == 0) {
                line.set(false);
            }
        }
    }

    private synchronized int interruptStatus() {
        return interruptStatus;
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

    /** Closes the device (flushes, and closes the block device when the builder said so). */
    @Override
    public void close() throws IOException {
        device.close();
    }
}
