package io.jblk.api;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Changing an image's virtual size, as {@code qemu-img resize}: an optional capability of a {@link BlockDriver}
 * (callers test {@code driver instanceof ImageResizer}). It works on an image that is not open elsewhere.
 *
 * <p>Growing adds space that reads as zeros. Shrinking discards everything past the new end; callers ask users to
 * confirm it ({@code --shrink}), and a driver that cannot shrink fails with {@link UnsupportedFeatureException}.
 */
public interface ImageResizer {

    /** Sets the virtual size of the image at {@code path} to {@code newSize} bytes. */
    void resize(Path path, OpenOptions options, long newSize) throws IOException;
}
