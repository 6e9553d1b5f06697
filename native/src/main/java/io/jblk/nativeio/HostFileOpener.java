package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How a format driver opens the host files behind an image (the image itself, its data file). Production code uses
 * {@link HostFile#open}; crash and fault-injection tests pass an opener that wraps each file in a recording or failing
 * decorator, so no driver code knows it is under test.
 */
@FunctionalInterface
public interface HostFileOpener {

    HostFileOpener DEFAULT = HostFile::open;

    HostFile open(Path path, HostFileOptions options) throws IOException;
}
