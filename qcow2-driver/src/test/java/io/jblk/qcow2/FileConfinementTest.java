package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.ConfinementException;
import io.jblk.api.CreateOptions;
import io.jblk.api.FileConfinement;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link FileConfinement} as the qcow2 driver applies it to backing and data-file names: refused outside the allowed
 * directories after resolving {@code ..} and symbolic links, followed inside them, the whole chain held to the top
 * image's directory; {@link FileConfinement#NONE} follows names anywhere, as QEMU does.
 */
class FileConfinementTest {
    static final int SIZE = 64 << 10;

    @TempDir
    Path dir;
    Path images;
    Path outside;
    byte[] secret = new byte[SIZE];

    @BeforeEach
    void layout() throws Exception {
        images = Files.createDirectories(dir.resolve("images"));
        outside = Files.createDirectories(dir.resolve("outside"));
        Arrays.fill(secret, (byte) 'S');
        Files.write(outside.resolve("secret.raw"), secret);
    }

    Path overlay(Path image, String backing, String format) throws Exception {
        BlockDrivers.create(image, "qcow2", CreateOptions.builder(SIZE).backingFile(backing, format).build());
        return image;
    }

    static OpenOptions confined(Path... alsoAllowed) {
        return OpenOptions.builder().readOnly(true).confinement(FileConfinement.imageDirectoryAnd(List.of(alsoAllowed)))
                .build();
    }

    static byte[] read(BlockDevice device) throws Exception {
        byte[] b = new byte[SIZE];
        device.readBlocking(0, MemorySegment.ofArray(b));
        return b;
    }

    @Test
    void namesLeadingOutsideAreRefusedAndNamed() throws Exception {
        Files.createSymbolicLink(images.resolve("link.raw"), outside.resolve("secret.raw"));
        Files.createDirectories(images.resolve("sub"));
        String[] names = {"../outside/secret.raw", outside.resolve("secret.raw").toString(), "link.raw",
            "sub/../../outside/secret.raw", "../outside/missing.raw"};
        for (String name : names) {
            Path image = overlay(images.resolve("top" + Math.abs(name.hashCode()) + ".qcow2"), name, "raw");
            ConfinementException e = assertThrows(ConfinementException.class,
                    () -> BlockDrivers.open(image, "qcow2", confined()), name);
            assertTrue(e.getMessage().contains(name.contains("link") ? "link.raw" : name.contains("missing")
                    ? "missing.raw" : "secret.raw"), e.getMessage());
            assertTrue(e.getMessage().contains(images.toRealPath().toString()), e.getMessage());
            try (BlockDevice followed = name.contains("missing") ? null
                    : BlockDrivers.open(image, "qcow2", OpenOptions.builder().readOnly(true).build())) {
                if (followed != null) {
                    assertArrayEquals(secret, read(followed), "unconfined, the name is followed as QEMU does");
                }
            }
            if (!name.contains("missing")) {
                try (BlockDevice allowed = BlockDrivers.open(image, "qcow2", confined(outside))) {
                    assertArrayEquals(secret, read(allowed), "an allowed directory is followed into");
                }
            }
        }
    }

    @Test
    void namesStayingInsideAreFollowed() throws Exception {
        Path sub = Files.createDirectories(images.resolve("sub"));
        Files.write(sub.resolve("base.raw"), secret);
        Path image = overlay(images.resolve("top.qcow2"), "./sub/../sub/base.raw", "raw");
        try (BlockDevice device = BlockDrivers.open(image, "qcow2", confined())) {
            assertArrayEquals(secret, read(device));
        }
        Path missing = overlay(images.resolve("missing.qcow2"), "gone.raw", "raw");
        assertThrows(NoSuchFileException.class, () -> BlockDrivers.open(missing, "qcow2", confined()),
                "a missing file inside is reported as missing");
    }

    @Test
    void theWholeChainIsHeldToTheTopImagesDirectory() throws Exception {
        Path sub = Files.createDirectories(images.resolve("sub"));
        Files.write(images.resolve("base.raw"), secret);
        Path middle = overlay(sub.resolve("middle.qcow2"), "../base.raw", "raw");
        Path top = overlay(images.resolve("top.qcow2"), "sub/middle.qcow2", "qcow2");
        try (BlockDevice device = BlockDrivers.open(top, "qcow2", confined())) {
            assertArrayEquals(secret, read(device), "a backing file's name may lead back into the top directory");
        }
        Files.delete(middle);
        overlay(middle, "../../outside/secret.raw", "raw");
        ConfinementException e = assertThrows(ConfinementException.class,
                () -> BlockDrivers.open(top, "qcow2", confined()));
        assertTrue(e.getMessage().contains("middle.qcow2") && e.getMessage().contains("secret.raw"), e.getMessage());
        // Opened on its own, the middle image's directory is images/sub: the name leaves it too.
        assertThrows(ConfinementException.class, () -> BlockDrivers.open(middle, "qcow2", confined()));
    }

    @Test
    void aDataFileOutsideIsRefusedBeforeAnythingIsWritten() throws Exception {
        Path victim = outside.resolve("victim.raw");
        Path image = images.resolve("data.qcow2");
        BlockDrivers.create(image, "qcow2", CreateOptions.builder(SIZE).option("data_file", victim.toString())
                .build());
        Files.write(victim, secret);
        OpenOptions writable = OpenOptions.builder().confinement(FileConfinement.imageDirectoryAnd(List.of()))
                .build();
        ConfinementException e = assertThrows(ConfinementException.class,
                () -> BlockDrivers.open(image, "qcow2", writable));
        assertTrue(e.getMessage().contains("data file") && e.getMessage().contains("victim.raw"), e.getMessage());
        assertEquals(victim, e.file());
        assertArrayEquals(secret, Files.readAllBytes(victim));
        try (BlockDevice allowed = BlockDrivers.open(image, "qcow2",
                writable.toBuilder().confinement(FileConfinement.imageDirectoryAnd(List.of(outside))).build())) {
            assertEquals(SIZE, allowed.size());
        }
    }
}
