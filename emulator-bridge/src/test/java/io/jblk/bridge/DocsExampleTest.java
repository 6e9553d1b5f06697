package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.bridge.example.EmbeddingExample;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static org.junit.jupiter.api.Assertions.*;

/** The example in docs/emulator-bridge.md is this module's EmbeddingExample verbatim, and it works. */
class DocsExampleTest {
    static final Path DOC = Path.of("..", "docs", "emulator-bridge.md");
    static final Path SOURCE = Path.of("src", "test", "java", "io", "jblk", "bridge", "example",
            "EmbeddingExample.java");

    @TempDir
    Path dir;

    @Test
    void documentQuotesTheCompiledExample() throws Exception {
        String doc = Files.readString(DOC);
        String source = Files.readString(SOURCE);
        int start = doc.indexOf("```java\n");
        assertTrue(start >= 0, "docs/emulator-bridge.md has a java block");
        int end = doc.indexOf("```", start + 8);
        assertEquals(source.strip(), doc.substring(start + 8, end).strip(),
                "docs/emulator-bridge.md must quote " + SOURCE + " exactly");
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
}
