package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.LockMode;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.ProcLocks;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A disk attached through {@link VirtioBlkDevice#open} is locked as QEMU locks a guest disk (virtio-blk without
 * share-rw): other users may read it, nobody else may write it, and {@link LockMode#OFF} takes no lock at all.
 */
class BridgeImageLockTest {
    @TempDir
    Path dir;

    private Path image(String format) throws IOException {
        Path image = dir.resolve("disk." + format);
        BlockDrivers.create(image, format, CreateOptions.builder(1 << 20).build());
        return image;
    }

    @ParameterizedTest
    @ValueSource(strings = {"raw", "qcow2"})
    void guestDiskRefusesOtherWritersAndWelcomesReaders(String format) throws Exception {
        Path image = image(format);
        try (GuestRam ram = new GuestRam(1 << 20);
             VirtioMmioTransport disk = VirtioBlkDevice.open(image, format, OpenOptions.defaults(), ram.memory)
                     .buildMmio(level -> { })) {
            // raw: consistent read and write held, write not shared; qcow2 adds resize and refuses to share it too
            List<Long> expected = format.equals("raw") ? List.of(100L, 101L, 201L)
                    : List.of(100L, 101L, 103L, 201L, 203L);
            assertEquals(expected, ProcLocks.bytes(image));
            IOException e = assertThrows(IOException.class, () -> BlockDrivers.open(image, format,
                    OpenOptions.builder().build()).close());
            assertTrue(e.getMessage().startsWith("Failed to get \"write\" lock"), e.getMessage());
            if (ExternalTool.available("qemu-io")) {
                ExternalTool.Result writer = ExternalTool.qemuIo("-f", format, "-c", "read 0 512", image.toString());
                assertTrue(writer.exitCode() != 0 && writer.stderr().contains("Failed to get \"write\" lock"),
                        writer.stderr());
                // a raw reader shares everything and so may read; a qcow2 reader refuses to share write and resize
                ExternalTool.Result reader = ExternalTool.qemuIo("-f", format, "-r", "-c", "read 0 512", image.toString());
                if (format.equals("raw")) {
                    reader.ok();
                } else {
                    assertTrue(reader.stderr().contains("Failed to get shared \"write\" lock"), reader.stderr());
                    ExternalTool.qemuIo("-f", format, "-r", "-U", "-c", "read 0 512", image.toString()).ok();
                }
            }
        }
        assertEquals(List.of(), ProcLocks.bytes(image), "closing the virtio device releases the image");
    }

    @Test
    void lockModeOffTakesNoLock() throws Exception {
        Path image = image("raw");
        try (GuestRam ram = new GuestRam(1 << 20);
             VirtioMmioTransport disk = VirtioBlkDevice.open(image, "raw",
                     OpenOptions.builder().lockMode(LockMode.OFF).build(), ram.memory).buildMmio(level -> { })) {
            assertEquals(List.of(), ProcLocks.bytes(image));
            BlockDrivers.open(image, "raw", OpenOptions.defaults()).close();
        }
    }
}
