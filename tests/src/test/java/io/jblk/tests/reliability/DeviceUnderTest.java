package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.nativeio.HostFileOpener;

import java.io.IOException;
import java.nio.file.Path;

/** How a crash or fault campaign opens the image under test through a given host-file opener. */
@FunctionalInterface
public interface DeviceUnderTest {
    BlockDevice open(Path image, HostFileOpener opener, boolean readOnly) throws IOException;
}
