package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;

import java.io.IOException;

/**
 * A device under test whose virtual size a workload can change. The block-device SPI has no online resize; the
 * qcow2 implementation ({@link ReopeningResizeDevice}) closes the image, resizes it through the driver's
 * {@link io.jblk.api.ImageResizer} and reopens it, all through the same host-file opener, so the recorded or
 * faulted host I/O includes the resize (the L1 table growth).
 */
public interface ResizableDevice extends BlockDevice {

    /** Sets the virtual size; no request may be in flight. */
    void resize(long newSize) throws IOException;
}
