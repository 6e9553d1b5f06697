package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;

/**
 * A raw (or other) image, the virtio-mmio device over it and the test guest driver, wired like an emulator would:
 * guest RAM as {@link Wiring} says, and in polled mode an "emulator CPU loop" thread that calls {@code poll()}
 * whenever the device's wake-up hook says there is work.
 */
final class Fixture implements AutoCloseable {
    static final long ALL_FEATURES = VirtioBlkFeatures.bit(VirtioBlkFeatures.VERSION_1)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.SIZE_MAX) | VirtioBlkFeatures.bit(VirtioBlkFeatures.SEG_MAX)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.BLK_SIZE) | VirtioBlkFeatures.bit(VirtioBlkFeatures.FLUSH)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.TOPOLOGY) | VirtioBlkFeatures.bit(VirtioBlkFeatures.MQ)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.DISCARD) | VirtioBlkFeatures.bit(VirtioBlkFeatures.WRITE_ZEROES)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_INDIRECT_DESC)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX);

    final Wiring wiring;
    final Path image;
    final BlockDevice disk;
    final GuestRam ram;
    final GuestBlkDriver guest;
    final VirtioMmioTransport mmio;
    private final Thread cpuLoop;
    private volatile boolean running = true;
    /** Polled mode: whether the CPU loop thread polls; a test that plays the CPU loop itself turns it off. */
    private volatile boolean autoPoll = true;
    private volatile boolean loopIdle;
    /** Polled mode: calls of the device's workPending hook, and the threads they came on. */
    final java.util.concurrent.atomic.AtomicInteger wakeups = new java.util.concurrent.atomic.AtomicInteger();
    final java.util.Set<String> wakeThreads = java.util.concurrent.ConcurrentHashMap.newKeySet();

    Fixture(Wiring wiring, Path dir, long size, byte[] initial, boolean readOnly, int queues, int queueSize,
            Function<BlockDevice, BlockDevice> wrap) throws IOException {
        this(wiring, dir, "raw", CreateOptions.builder(size).build(), initial, readOnly, queues, queueSize, wrap);
    }

    /** @param initial raw content written to the image file before opening (raw only), or null */
    Fixture(Wiring wiring, Path dir, String format, CreateOptions create, byte[] initial, boolean readOnly,
            int queues, int queueSize, Function<BlockDevice, BlockDevice> wrap) throws IOException {
        this.wiring = wiring;
        image = dir.resolve("disk." + format);
        BlockDrivers.create(image, format, create);
        if (initial != null) {
            Files.write(image, initial);
        }
        BlockDevice opened = BlockDrivers.open(image, format, OpenOptions.builder().readOnly(readOnly).build());
        disk = wrap != null ? wrap.apply(opened) : opened;
        ram = new GuestRam(96L << 20, wiring.memory);
        guest = new GuestBlkDriver(ram);
        VirtioBlkDevice.Builder builder = VirtioBlkDevice.builder(disk, ram.memory).queues(queues)
                .queueSize(queueSize).serial("jblk-test-serial").closeBlockDeviceOnClose(true);
        Thread[] loop = new Thread[1];
        if (wiring.polled) {
            loop[0] = Thread.ofPlatform().daemon().name("emulator-cpu-loop").unstarted(this::cpuLoop);
            builder.polled(() -> {
                wakeups.incrementAndGet();
                wakeThreads.add(Thread.currentThread().getName());
                LockSupport.unpark(loop[0]);
            });
        }
        mmio = builder.buildMmio(guest.interruptLine());
        guest.attach(mmio);
        cpuLoop = loop[0];
        if (cpuLoop != null) {
            cpuLoop.start();
        }
    }

    Fixture(Wiring wiring, Path dir, long size) throws IOException {
        this(wiring, dir, size, null, false, 2, 128, null);
    }

    /** Polled mode: what a single-threaded emulator's CPU loop does between instructions, and WFI when idle. */
    private void cpuLoop() {
        while (running) {
            if (!autoPoll) {
                loopIdle = true;
                LockSupport.parkNanos(1_000_000);
                continue;
            }
            loopIdle = false;
            if (mmio.poll() == 0) {
                LockSupport.parkNanos(1_000_000); // woken early by the device's workPending hook
            }
        }
    }

    /** Polled mode: stops the CPU loop thread's polling (returns once no poll of it is in progress). */
    void stopAutoPoll() {
        autoPoll = false;
        if (cpuLoop != null) {
            Until.until("the CPU loop stops polling", () -> loopIdle);
        }
    }

    void resumeAutoPoll() {
        autoPoll = true;
        if (cpuLoop != null) {
            LockSupport.unpark(cpuLoop);
        }
    }

    VirtioBlkDevice device() {
        return mmio.device();
    }

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(60, TimeUnit.SECONDS); // a safety net against a hang, not a timing assertion
    }

    @Override
    public void close() throws IOException {
        try {
            mmio.close();
        } finally {
            running = false;
            if (cpuLoop != null) {
                LockSupport.unpark(cpuLoop);
                try {
                    cpuLoop.join();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            guest.close();
            ram.close();
        }
        if (guest.handlerFailure != null) {
            throw new AssertionError("the guest's interrupt handler thread died", guest.handlerFailure);
        }
        if (guest.levelRepeats.get() != 0) {
            throw new AssertionError("InterruptLine.set was called " + guest.levelRepeats.get()
                    + " times without changing the level");
        }
        if (!guest.contractBreaches.isEmpty()) {
            throw new AssertionError("interrupt line contract broken: " + guest.contractBreaches);
        }
    }
}
