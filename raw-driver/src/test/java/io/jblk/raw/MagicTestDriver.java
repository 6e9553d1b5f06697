package io.jblk.raw;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDriver;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A format that exists only to be probed (installed for this module's tests): a file whose first 8 bytes are
 * {@code "JBLKTES\0"} is claimed by it, so a raw image can be written into one without the qcow2 driver.
 */
public final class MagicTestDriver implements BlockDriver {
    static final byte[] MAGIC = "JBLKTES\0".getBytes(StandardCharsets.US_ASCII);

    @Override
    public String formatName() {
        return "jblk-magic-test";
    }

    @Override
    public int probe(MemorySegment header, Path path) {
        if (header.byteSize() < MAGIC.length) {
            return 0;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (header.get(ValueLayout.JAVA_BYTE, i) != MAGIC[i]) {
                return 0;
            }
        }
        return 100;
    }

    @Override
    public void create(Path path, CreateOptions options) {
        throw new UnsupportedOperationException("probe-only test format");
    }

    @Override
    public BlockDevice open(Path path, OpenOptions options) {
        throw new UnsupportedOperationException("probe-only test format");
    }
}
