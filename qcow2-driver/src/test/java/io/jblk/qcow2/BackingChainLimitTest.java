package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.CreateOptions;
import io.jblk.api.ImageFormatException;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backing chain bound: {@link Qcow2Driver#MAX_CHAIN_DEPTH} images open, one more is refused with a message
 * that counts images the way the limit does (it used to say "depth is 64, expected at most 64").
 */
class BackingChainLimitTest {
    @TempDir
    Path dir;

    /** Creates c0 (no backing) .. c{top}, each backed by the one before; returns c{top}. */
    private Path chain(int top) throws Exception {
        Qcow2Driver driver = new Qcow2Driver();
        driver.create(dir.resolve("c0.qcow2"), CreateOptions.builder(1 << 20).build());
        for (int i = 1; i <= top; i++) {
            driver.create(dir.resolve("c" + i + ".qcow2"), CreateOptions.builder(1 << 20)
                    .backingFile("c" + (i - 1) + ".qcow2", "qcow2").build());
        }
        return dir.resolve("c" + top + ".qcow2");
    }

    @Test
    void aChainOfTheMaximumLengthOpens() throws Exception {
        Path top = chain(Qcow2Driver.MAX_CHAIN_DEPTH - 1); // c63 .. c0: 64 images
        try (BlockDevice device = new Qcow2Driver().open(top, OpenOptions.builder().readOnly(true).build())) {
            assertEquals(1 << 20, device.size());
        }
    }

    @Test
    void oneImageMoreIsRefusedWithACountThatAddsUp() throws Exception {
        Path top = chain(Qcow2Driver.MAX_CHAIN_DEPTH); // 65 images
        ImageFormatException e = assertThrows(ImageFormatException.class,
                () -> new Qcow2Driver().open(top, OpenOptions.builder().readOnly(true).build()).close());
        String message = e.getMessage();
        assertTrue(message.contains("image " + (Qcow2Driver.MAX_CHAIN_DEPTH + 1))
                && message.contains("at most " + Qcow2Driver.MAX_CHAIN_DEPTH), message);
        assertTrue(message.contains("c0.qcow2"), "names the image that does not fit: " + message);
    }
}
