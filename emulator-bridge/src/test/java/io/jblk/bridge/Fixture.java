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

/** A raw image, the virtio-mmio device over it and the test guest driver, wired like an emulator would. */
final class Fixture implements AutoCloseable {
    static final long ALL_FEATURES = VirtioBlkFeatures.bit(VirtioBlkFeatures.VERSION_1)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.SIZE_MAX) | VirtioBlkFeatures.bit(VirtioBlkFeatures.SEG_MAX)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.BLK_SIZE) | VirtioBlkFeatures.bit(VirtioBlkFeatures.FLUSH)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.TOPOLOGY) | VirtioBlkFeatures.bit(VirtioBlkFeatures.MQ)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.DISCARD) | VirtioBlkFeatures.bit(VirtioBlkFeatures.WRITE_ZEROES)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_INDIRECT_DESC)
            | VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX);

    final Path image;
    final BlockDevice disk;
    final GuestRam ram;
    final GuestBlkDriver guest;
    final VirtioMmioTransport mmio;

    Fixture(Path dir, long size, byte[] initial, boolean readOnly, int queues, int queueSize,
            java.util.function.Function<BlockDevice, BlockDevice> wrap)
            throws IOException {
        this(dir, "raw", CreateOptions.builder(size).build(), initial, readOnly, queues, queueSize, wrap);
    }

    /** @param initial raw content written to the image file before opening (raw only), or null */
    Fixture(Path dir, String format, CreateOptions create, byte[] initial, boolean readOnly, int queues,
            int queueSize, java.util.function.Function<BlockDevice, BlockDevice> wrap) throws IOException {
        image = dir.resolve("disk." + format);
        BlockDrivers.create(image, format, create);
        if (initial != null) {
            Files.write(image, initial);
        }
        BlockDevice opened = BlockDrivers.open(image, format, OpenOptions.builder().readOnly(readOnly).build());
        disk = wrap != null ? wrap.apply(opened) : opened;
        ram = new GuestRam(96L << 20);
        guest = new GuestBlkDriver(ram);
        mmio = VirtioBlkDevice.builder(disk, ram.memory).queues(queues).queueSize(queueSize).serial("jblk-test-serial")
                .closeBlockDeviceOnClose(true).buildMmio(guest.interruptLine());
        guest.attach(mmio);
    }

    Fixture(Path dir, long size) throws IOException {
        this(dir, size, null, false, 2, 128, null);
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
            guest.close();
            ram.close();
        }
    }
}
