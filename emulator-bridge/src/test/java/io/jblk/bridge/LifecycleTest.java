package io.jblk.bridge;

import io.jblk.api.BlockLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkFeatures.bit;
import static io.jblk.bridge.VirtioBlkRequest.S_OK;
import static io.jblk.bridge.VirtioMmioTransport.*;
import static org.junit.jupiter.api.Assertions.*;

/** Registers, feature negotiation, config space, reset while requests are in flight, close. */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING"})
class LifecycleTest {
    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;
    Fixture f;

    @AfterEach
    void close() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    @Test
    void identityFeaturesAndConfigSpace() throws Exception {
        f = new Fixture(wiring, dir, 8 << 20, null, false, 4, 256, d -> new ControlledDevice(d,
                new BlockLimits(1, 65536, 2048, 1 << 20, 1L << 30)));
        GuestBlkDriver g = f.guest;
        assertEquals(MAGIC, g.reg(MAGIC_VALUE));
        assertEquals(2, g.reg(VERSION));
        assertEquals(VIRTIO_ID_BLOCK, g.reg(DEVICE_ID));
        long offered = g.deviceFeatures();
        for (int bitNo : new int[]{VirtioBlkFeatures.VERSION_1, VirtioBlkFeatures.SIZE_MAX, VirtioBlkFeatures.SEG_MAX,
                VirtioBlkFeatures.BLK_SIZE, VirtioBlkFeatures.FLUSH, VirtioBlkFeatures.TOPOLOGY, VirtioBlkFeatures.MQ,
                VirtioBlkFeatures.DISCARD, VirtioBlkFeatures.WRITE_ZEROES, VirtioBlkFeatures.RING_INDIRECT_DESC,
                VirtioBlkFeatures.RING_EVENT_IDX}) {
            assertTrue(VirtioBlkFeatures.has(offered, bitNo), "feature bit " + bitNo + " offered");
        }
        assertFalse(VirtioBlkFeatures.has(offered, VirtioBlkFeatures.RO));
        assertTrue(g.initialize(ALL_FEATURES, 4, 256));
        assertEquals((8 << 20) / 512, g.config(0, 8), "capacity");
        assertEquals(1 << 20, g.config(8, 4), "size_max");
        assertEquals(254, g.config(12, 4), "seg_max = queue size - 2");
        assertEquals(512, g.config(20, 4), "blk_size");
        assertEquals(2, g.config(24, 1), "physical_block_exp: 2 KiB granularity over 512-byte blocks");
        assertEquals(4, g.config(26, 2), "min_io_size in blocks");
        assertEquals(128, g.config(28, 4), "opt_io_size: the 64 KiB cluster in blocks");
        assertEquals(4, g.config(34, 2), "num_queues");
        assertEquals(4, g.config(44, 4), "discard_sector_alignment: the 2 KiB subcluster in sectors");
        assertEquals(32, g.config(40, 4), "max_discard_seg");
        assertEquals(1, g.config(56, 1), "write_zeroes_may_unmap");
        assertEquals((1L << 30) / 512, g.config(36, 4), "max_discard_sectors");
        assertEquals(0, g.config(200, 4), "past the layout");
        for (int q = 0; q < 4; q++) {
            assertEquals(S_OK, await(g.read(q, q * 8, 4096, 1, false)).status(), "queue " + q);
        }
        assertEquals(0, g.reg(0x0c0), "unknown register reads 0");
        assertEquals(-1, g.reg(SHM_LEN_LOW), "no shared memory region: all-ones length");
        assertEquals(-1, g.reg(SHM_LEN_HIGH));
        assertEquals(0, g.mmio.read(STATUS, 2), "a 2-byte access to a 32-bit register is ignored");
    }

    @Test
    void featuresOkIsRefusedForUnofferedFeaturesOrWithoutVersion1() throws Exception {
        f = new Fixture(wiring, dir, 1 << 20);
        assertFalse(f.guest.initialize(ALL_FEATURES & ~bit(VirtioBlkFeatures.VERSION_1), 1, 16),
                "legacy driver without VERSION_1");
        assertFalse(f.guest.initialize(ALL_FEATURES | bit(34), 1, 16, true), "RING_PACKED was not offered");
        assertFalse(f.guest.initialize(ALL_FEATURES | bit(VirtioBlkFeatures.RO), 1, 16, true),
                "RO was not offered for a writable device");
        assertTrue(f.guest.initialize(ALL_FEATURES, 2, 16), "a correct driver after the refusals");
        assertEquals(S_OK, await(f.guest.read(1, 0, 512, 1, false)).status());
    }

    @Test
    void queueRegistersReadBackAndMissingQueuesReportZero() throws Exception {
        f = new Fixture(wiring, dir, 1 << 20);
        GuestBlkDriver g = f.guest;
        g.reg(QUEUE_SEL, 5);
        assertEquals(0, g.reg(QUEUE_NUM_MAX), "queue 5 does not exist");
        g.reg(QUEUE_SEL, 1);
        assertEquals(128, g.reg(QUEUE_NUM_MAX));
        g.reg(QUEUE_DESC_LOW, 0x1234_5670);
        g.reg(QUEUE_DESC_HIGH, 0x9);
        assertEquals(0x1234_5670, g.reg(QUEUE_DESC_LOW));
        assertEquals(0x9, g.reg(QUEUE_DESC_HIGH));
        assertEquals(0x9_1234_5670L, f.device().queueDescAddress(1));
        assertEquals(0, g.reg(QUEUE_READY));
    }

    @Test
    void resetWithRequestsInFlightWaitsAndNeverWritesGuestMemoryAfterwards() throws Exception {
        ControlledDevice[] held = new ControlledDevice[1];
        f = new Fixture(wiring, dir, 4 << 20, null, false, 2, 64, d -> held[0] = new ControlledDevice(d, null));
        GuestBlkDriver g = f.guest;
        assertTrue(g.initialize(ALL_FEATURES, 2, 64));
        held[0].closeGate();
        List<CompletableFuture<GuestBlkDriver.Result>> inFlight = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            inFlight.add(i % 2 == 0 ? g.read(i % 2, i * 8, 4096, 2, true)
                    : g.write(i % 2, i * 8, new byte[4096], 2, true));
        }
        assertEquals(20, f.device().requestsInFlight());
        List<Long> statusBytes = g.pendingStatusAddresses();
        int used0 = g.queues.get(0).usedIdxInRing();
        int used1 = g.queues.get(1).usedIdxInRing();

        Thread reset = Thread.ofPlatform().start(() -> g.reg(STATUS, 0));
        while (f.device().queueReady(0) || f.device().queueReady(1)) {
            Thread.onSpinWait(); // the reset has closed the queues and now waits for the requests
        }
        assertTrue(reset.isAlive(), "reset cannot finish while the block device holds requests");
        held[0].open();
        reset.join();

        assertEquals(0, f.device().requestsInFlight());
        assertEquals(0, g.reg(STATUS));
        assertEquals(used0, g.queues.get(0).usedIdxInRing(), "no used element published after reset");
        assertEquals(used1, g.queues.get(1).usedIdxInRing());
        for (long s : statusBytes) {
            assertEquals((byte) 0xFF, f.ram.at(s, 1).get(ValueLayout.JAVA_BYTE, 0), "status byte untouched");
        }
        assertFalse(inFlight.stream().anyMatch(CompletableFuture::isDone));

        assertTrue(g.initialize(ALL_FEATURES, 2, 64), "the driver initialises again");
        assertEquals(S_OK, await(g.write(1, 0, new byte[512], 1, false)).status());
        assertEquals(S_OK, await(g.read(0, 0, 512, 1, false)).status());
    }

    @Test
    void closeFlushesAndClosesAnOwnedDevice() throws Exception {
        f = new Fixture(wiring, dir, 1 << 20);
        assertTrue(f.guest.initialize(ALL_FEATURES, 1, 16));
        byte[] data = new byte[4096];
        java.util.Arrays.fill(data, (byte) 0x5A);
        assertEquals(S_OK, await(f.guest.write(0, 16, data, 1, false)).status());
        f.mmio.close();
        f.mmio.close(); // idempotent
        assertThrows(Exception.class, () -> f.disk.read(0, java.lang.foreign.Arena.ofAuto().allocate(512)).join(),
                "the block device was closed with the virtio device");
        byte[] image = java.nio.file.Files.readAllBytes(f.image);
        assertArrayEquals(data, java.util.Arrays.copyOfRange(image, 16 * 512, 16 * 512 + 4096));
        assertEquals(0, f.guest.reg(STATUS) & DeviceStatus.DRIVER_OK, "a closed device is reset");
    }
}
