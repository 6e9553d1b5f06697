package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.bridge.example.EmbeddingExample;
import io.jblk.bridge.example.PolledEmbeddingExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static org.junit.jupiter.api.Assertions.*;

/** The examples in docs/emulator-bridge.md are this module's example classes verbatim, and they work. */
class DocsExampleTest {
    static final Path DOC = Path.of("..", "docs", "emulator-bridge.md");
    static final Path EXAMPLES = Path.of("src", "test", "java", "io", "jblk", "bridge", "example");
    static final Path SOURCE = EXAMPLES.resolve("EmbeddingExample.java");
    static final Path POLLED_SOURCE = EXAMPLES.resolve("PolledEmbeddingExample.java");
    /** Exercised by {@link RingTransportExampleTest}. */
    static final Path RING_SOURCE = EXAMPLES.resolve("RingTransportExample.java");

    @TempDir
    Path dir;

    @Test
    void documentQuotesTheCompiledExamples() throws Exception {
        String doc = Files.readString(DOC);
        java.util.List<String> blocks = new java.util.ArrayList<>();
        for (int start = doc.indexOf("```java\n"); start >= 0; start = doc.indexOf("```java\n", start + 1)) {
            int end = doc.indexOf("```", start + 8);
            blocks.add(doc.substring(start + 8, end).strip());
        }
        for (Path source : java.util.List.of(SOURCE, POLLED_SOURCE, RING_SOURCE)) {
            assertTrue(blocks.contains(Files.readString(source).strip()),
                    "docs/emulator-bridge.md must quote " + source + " exactly, as a java block");
        }
    }

    @Test
    void openProbesTheFormatWhenNoneIsGiven() throws Exception {
        Path image = dir.resolve("probed.img");
        BlockDrivers.create(image, "qcow2", CreateOptions.builder(1 << 20).option("extended_l2", "on").build());
        try (GuestRam ram = new GuestRam(1 << 20);
             VirtioMmioTransport disk = VirtioBlkDevice.open(image, null, io.jblk.api.OpenOptions.defaults(),
                     ram.memory).buildMmio(level -> { })) {
            assertEquals("qcow2", disk.device().blockDevice().info().format());
            assertEquals((1 << 20) / 512, disk.read(VirtioMmioTransport.CONFIG, 8), "capacity of the qcow2 disk");
        }
    }

    @Test
    void exampleServesAGuest() throws Exception {
        assertTrue(EmbeddingExample.formats().containsAll(java.util.List.of("qcow2", "raw")));
        Path image = dir.resolve("disk.qcow2");
        BlockDrivers.create(image, "qcow2", CreateOptions.builder(1 << 20).option("extended_l2", "on").build());
        long windowBase = 0x0a00_0000L;
        try (GuestRam ram = new GuestRam(16 << 20); GuestBlkDriver guest = new GuestBlkDriver(ram);
             VirtioMmioTransport disk = EmbeddingExample.attach(image, "qcow2", ram.ram, GuestRam.BASE,
                     guest.interruptLine())) {
            assertEquals(VirtioMmioTransport.MAGIC, EmbeddingExample.mmioRead(disk, windowBase, windowBase, 4));
            EmbeddingExample.mmioWrite(disk, windowBase, windowBase + VirtioMmioTransport.STATUS, 4,
                    DeviceStatus.ACKNOWLEDGE);
            assertEquals(DeviceStatus.ACKNOWLEDGE, disk.read(VirtioMmioTransport.STATUS, 4));
            guest.attach(disk);
            assertTrue(guest.initialize(ALL_FEATURES, 2, 64));
            byte[] data = new byte[8192];
            java.util.Arrays.fill(data, (byte) 7);
            assertEquals(VirtioBlkRequest.S_OK, await(guest.write(1, 64, data, 2, true)).status());
            assertArrayEquals(data, await(guest.read(0, 64, 8192, 1, false)).data());
            assertEquals("jblk-disk0", new String(await(guest.getId(0)).data(),
                    java.nio.charset.StandardCharsets.US_ASCII).replace("\0", ""));
        }
    }

    @Test
    void polledExampleServesAGuestFromItsCpuLoop() throws Exception {
        Path image = dir.resolve("polled.qcow2");
        BlockDrivers.create(image, "qcow2", CreateOptions.builder(1 << 20).option("extended_l2", "on").build());
        byte[] bytes = new byte[16 << 20];
        PolledEmbeddingExample.ArrayRam memory = new PolledEmbeddingExample.ArrayRam(GuestRam.BASE, bytes);
        try (GuestRam ram = new GuestRam(java.lang.foreign.MemorySegment.ofArray(bytes), memory);
             GuestBlkDriver guest = new GuestBlkDriver(ram, false)) {
            VirtioMmioTransport disk = PolledEmbeddingExample.attach(image, "qcow2", memory, Thread.currentThread());
            PolledEmbeddingExample.wire(disk, guest.interruptLine());
            guest.attach(disk);
            assertTrue(guest.initialize(ALL_FEATURES, 1, 64));
            byte[] data = new byte[8192];
            java.util.Arrays.fill(data, (byte) 9);
            var write = guest.write(0, 32, data, 2, true);
            runCpuUntil(disk, guest, write);
            assertEquals(VirtioBlkRequest.S_OK, write.get().status());
            var read = guest.read(0, 32, 8192, 3, false);
            runCpuUntil(disk, guest, read);
            assertArrayEquals(data, read.get().data());
            PolledEmbeddingExample.powerOff(disk);
            assertEquals(0, disk.read(VirtioMmioTransport.STATUS, 4), "closed: reset");
        }
        try (io.jblk.api.BlockDevice reopened = BlockDrivers.open(image, "qcow2", io.jblk.api.OpenOptions.defaults())) {
            java.lang.foreign.MemorySegment back = java.lang.foreign.Arena.ofAuto().allocate(8192);
            reopened.read(32 * 512, back).join();
            assertEquals(9, back.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 8191), "flushed and closed");
        }
    }

    /** The single hart: runs the guest (its interrupt handler when the line is up) and polls, until {@code f} is done. */
    private static void runCpuUntil(VirtioMmioTransport disk, GuestBlkDriver guest,
                                    java.util.concurrent.CompletableFuture<?> f) {
        Until.until("the request completes in the CPU loop", () -> {
            PolledEmbeddingExample.cpuLoopTurn(disk, () -> {
                if (guest.lineAsserted()) {
                    guest.handleInterrupt();
                }
            }, true);
            return f.isDone();
        });
    }
}
