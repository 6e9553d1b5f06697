package io.jblk.raw;

import io.jblk.api.BlockDevice;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.BlockDeviceConformanceTest;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/** The raw driver on the default engine with the page cache. */
class RawDeviceConformanceTest extends BlockDeviceConformanceTest {
    @TempDir
    Path dir;

    protected OpenOptions.Builder openOptions() {
        return OpenOptions.builder();
    }

    @Override
    protected BlockDevice createDevice(long size) throws Exception {
        Path image = dir.resolve("disk.raw");
        new RawDriver().create(image, CreateOptions.builder(size).build());
        return new RawDriver().open(image, openOptions().build());
    }

    @Override
    protected BlockDevice reopen(BlockDevice device, boolean readOnly) throws Exception {
        device.close();
        return new RawDriver().open(dir.resolve("disk.raw"), openOptions().readOnly(readOnly).build());
    }

    @Override
    protected boolean discardReadsAsZero() {
        return true;
    }
}
