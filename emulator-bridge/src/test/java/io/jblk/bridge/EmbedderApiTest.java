package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkRequest.S_OK;
import static io.jblk.bridge.VirtioMmioTransport.INTERRUPT_STATUS;
import static org.junit.jupiter.api.Assertions.*;

/**
 * What an emulator calls besides the registers: a line connected after the device is built, drain with a bound,
 * the last negotiation, opening and closing without checked exceptions, and closing at JVM exit.
 */
class EmbedderApiTest {
    @TempDir
    Path dir;

    @Test
    void theLineCanBeConnectedAfterTheDeviceIsBuilt() throws Exception {
        Path image = dir.resolve("disk.raw");
        BlockDrivers.create(image, "raw", CreateOptions.builder(1 << 20).build());
        try (GuestRam ram = new GuestRam(16 << 20); GuestBlkDriver guest = new GuestBlkDriver(ram);
             VirtioMmioTransport disk = VirtioBlkDevice.open(image, "raw", OpenOptions.defaults(), ram.memory)
                     .buildMmio()) {
            guest.attach(disk);
            guest.handleInterrupts = false;
            assertTrue(guest.initialize(ALL_FEATURES, 1, 16));
            guest.write(0, 0, new byte[512], 1, false);
            Until.until("the write published", () -> guest.queues.getFirst().usedIdxInRing() == 1);
            assertEquals(VirtioMmioTransport.INT_USED_BUFFER, guest.reg(INTERRUPT_STATUS), "recorded without a line");
            assertTrue(disk.interruptAsserted());
            assertFalse(guest.lineAsserted());
            disk.connect(guest.interruptLine());
            assertTrue(guest.lineAsserted(), "connecting with a pending interrupt raises the line at once");
            assertThrows(IllegalStateException.class, () -> disk.connect(level -> { }));
            guest.reg(VirtioMmioTransport.INTERRUPT_ACK, VirtioMmioTransport.INT_USED_BUFFER);
            assertFalse(guest.lineAsserted());
            assertFalse(disk.interruptAsserted());
        }
    }

    @Test
    void drainWaitsForRequestsInFlightWithABound() throws Exception {
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(Wiring.SEGMENT, dir, 4 << 20, null, false, 2, 64,
                d -> held[0] = new ControlledDevice(d, null))) {
            assertTrue(f.guest.initialize(ALL_FEATURES, 2, 64));
            held[0].closeGate();
            List<CompletableFuture<GuestBlkDriver.Result>> requests = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                requests.add(f.guest.write(i % 2, 8L * i, new byte[4096], 1, false));
            }
            try {
                assertFalse(f.mmio.drain(Duration.ofMillis(50)), "held requests: the bound passes first");
                assertEquals(10, f.device().requestsInFlight());
            } finally {
                held[0].open();
            }
            assertTrue(f.mmio.drain(Duration.ofSeconds(60)));
            assertEquals(0, f.device().requestsInFlight());
            assertEquals(5, f.guest.queues.get(0).usedIdxInRing(), "published when drain returns");
            assertEquals(5, f.guest.queues.get(1).usedIdxInRing());
            for (CompletableFuture<GuestBlkDriver.Result> r : requests) {
                assertEquals(S_OK, await(r).status());
            }
        }
    }

    @Test
    void inPolledModeDrainPublishesByItself() throws Exception {
        try (Fixture f = new Fixture(Wiring.POLLED_COPYING, dir, 4 << 20, null, false, 2, 64, null)) {
            assertTrue(f.guest.initialize(ALL_FEATURES, 2, 64));
            f.stopAutoPoll();
            f.guest.handleInterrupts = false;
            for (int i = 0; i < 10; i++) {
                f.guest.write(i % 2, 8L * i, new byte[4096], 1, i % 3 == 0);
            }
            assertEquals(0, f.guest.queues.get(0).usedIdxInRing(), "kicks wait for the CPU loop");
            assertTrue(f.mmio.drain(Duration.ofSeconds(60)), "drain serves the kicks and publishes");
            assertEquals(5, f.guest.queues.get(0).usedIdxInRing());
            assertEquals(5, f.guest.queues.get(1).usedIdxInRing());
            assertTrue(f.guest.lineAsserted(), "the line rose inside drain, on this thread");
            f.resumeAutoPoll();
        }
    }

    @Test
    void lastNegotiationIsLiveWhileRunningAndKeptAfterTheGuestResets() throws Exception {
        try (Fixture f = new Fixture(Wiring.SEGMENT, dir, 1 << 20)) {
            assertNull(f.device().lastNegotiation(), "nothing negotiated yet");
            assertTrue(f.guest.initialize(ALL_FEATURES, 2, 32));
            for (int i = 0; i < 3; i++) {
                assertEquals(S_OK, await(f.guest.read(1, i, 512, 1, false)).status());
            }
            NegotiatedState live = f.device().lastNegotiation();
            assertEquals(f.guest.negotiated, live.driverFeatures());
            assertEquals(3, live.queues().get(1).usedIndex());
            f.guest.reg(VirtioMmioTransport.STATUS, 0); // the guest powers off
            assertEquals(0, f.device().driverFeatures());
            NegotiatedState kept = f.device().lastNegotiation();
            assertEquals(live.driverFeatures(), kept.driverFeatures());
            assertEquals(List.of(0, 3), kept.queues().stream().map(NegotiatedState.Queue::usedIndex).toList());
            assertEquals(32, kept.queues().get(0).size());
            assertTrue(kept.toString().contains("queue 1: size 32"), kept.toString());
        }
    }

    @Test
    void openAndCloseThrowNoCheckedExceptions() throws Exception {
        try (GuestRam ram = new GuestRam(1 << 20)) {
            UncheckedIOException missing = assertThrows(UncheckedIOException.class,
                    () -> VirtioBlkDevice.open(dir.resolve("missing.qcow2"), "qcow2", OpenOptions.defaults(),
                            ram.memory));
            assertInstanceOf(NoSuchFileException.class, missing.getCause(), "the driver's typed error is the cause");
            assertTrue(missing.getMessage().contains("missing.qcow2"), missing.getMessage());

            ControlledDevice[] held = new ControlledDevice[1];
            Path image = dir.resolve("disk.raw");
            BlockDrivers.create(image, "raw", CreateOptions.builder(1 << 20).build());
            VirtioMmioTransport disk = VirtioBlkDevice.builder(held[0] = new ControlledDevice(
                    BlockDrivers.open(image, "raw", OpenOptions.defaults()), null), ram.memory)
                    .closeBlockDeviceOnClose(true).buildMmio(level -> { });
            held[0].failFlush = new IOException("disk unplugged");
            UncheckedIOException failed = assertThrows(UncheckedIOException.class, disk::close);
            assertEquals("disk unplugged", failed.getCause().getMessage());
            assertDoesNotThrow(disk::close, "close is idempotent");
            assertThrows(Exception.class, () -> held[0].read(0, java.lang.foreign.Arena.ofAuto().allocate(512))
                    .join(), "the block device was closed although the flush failed");
        }
    }

    /**
     * An emulator without a close hook that writes and just exits, as QEMU reads the image afterwards: with
     * {@code closeAtJvmExit} the unflushed write is there (the hook flushed and closed); without it, it is lost, as a
     * guest write that was never flushed may be after a crash. The image is consistent either way. The hook must
     * not call the emulator (the probe's line throws).
     */
    @Test
    void closeAtJvmExitClosesTheImageOfAnEmulatorThatJustExits() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        for (boolean hook : new boolean[]{true, false}) {
            Path image = dir.resolve("exit-" + hook + ".qcow2");
            BlockDrivers.create(image, "qcow2", CreateOptions.builder(16 << 20).build());
            String java = ProcessHandle.current().info().command().orElse("java");
            Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                    System.getProperty("java.class.path"), ExitHookProbe.class.getName(), image.toString(),
                    Boolean.toString(hook)).redirectErrorStream(true).start();
            assertTrue(p.waitFor(120, TimeUnit.SECONDS), "probe JVM did not finish");
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("written"), out);
            assertFalse(out.contains("must not call the emulator"), out);
            String read = ExternalTool.qemuIo("-f", "qcow2", "-c", "read -P 0x5a 0 64k", image.toString())
                    .stdout();
            assertEquals(hook, !read.contains("Pattern verification failed"), "hook " + hook + ": " + read);
            ExternalTool.qemuImg("check", image.toString()).ok(); // consistent either way
        }
    }
}
