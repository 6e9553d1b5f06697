package io.jblk.nativeio;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDriver;
import io.jblk.api.OpenOptions;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A format driver whose images live in host files, which it opens through a {@link HostFileOpener}. An overlay opens
 * its backing image through the opener it was given, so a test that wraps host files (recording, reordering or
 * failing their I/O) sees the whole backing chain, and the overlay's driver needs to know no other driver's class.
 */
public interface HostFileDriver extends BlockDriver {

    /** Opens the image at {@code path}, every host file behind it through {@code opener}. */
    BlockDevice open(Path path, OpenOptions options, HostFileOpener opener) throws IOException;
}
