package io.jblk.tests.reliability;

import io.jblk.nativeio.HostFileOptions;
import io.jblk.raw.RawDevice;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;

/** The raw driver as a {@link DeviceUnderTest}: the reference the harness itself is validated against. */
final class RawUnderTest {
    private RawUnderTest() {
    }

    static final DeviceUnderTest RAW = (image, opener, readOnly) ->
            new RawDevice(opener.open(image, HostFileOptions.defaults().withReadOnly(readOnly).withLock(false)));

    static Path create(Path path, long size) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
            file.setLength(size);
        }
        return path;
    }
}
