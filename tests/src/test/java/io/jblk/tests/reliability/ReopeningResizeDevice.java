package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.Qcow2Driver;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A qcow2 image opened through a given host-file opener that can be resized between requests: close, resize with
 * {@link Qcow2Driver#resize(Path, OpenOptions, long, HostFileOpener)}, reopen. If the close, the resize or the reopen
 * fails, the device stays closed and every later request fails with that error; {@link #close()} then opens the
 * image once more and closes it, as the next user of the image would after the fault cleared (a lazy-refcount image
 * that a failed close left dirty is repaired by that open).
 */
final class ReopeningResizeDevice implements ResizableDevice {
    private final Path image;
    private final OpenOptions options;
    private final HostFileOpener opener;
    private final Qcow2Driver driver = new Qcow2Driver();
    private BlockDevice current;
    private IOException broken;

    ReopeningResizeDevice(Path image, OpenOptions options, HostFileOpener opener) throws IOException {
        this.image = image;
        this.options = options;
        this.opener = opener;
        this.current = driver.open(image, options, opener);
    }

    @Override
    public synchronized void resize(long newSize) throws IOException {
        BlockDevice open = device();
        current = null;
        try {
            open.close();
            driver.resize(image, options, newSize, opener);
            current = driver.open(image, options, opener);
        } catch (IOException e) {
            broken = e;
            throw e;
        }
    }

    private synchronized BlockDevice device() throws IOException {
        if (current == null) {
            throw new IOException("the image is closed after a failed resize", broken);
        }
        return current;
    }

    private <T> CompletableFuture<T> with(java.util.function.Function<BlockDevice, CompletableFuture<T>> request) {
        try {
            return request.apply(device());
        } catch (IOException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    @Override
    public long size() {
        try {
            return device().size();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public boolean isReadOnly() {
        return options.readOnly();
    }

    @Override
    public BlockLimits limits() {
        try {
            return device().limits();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        return with(d -> d.read(offset, buffer));
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        return with(d -> d.write(offset, data, fua));
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        return with(d -> d.writeZeroes(offset, length, mayUnmap));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        return with(d -> d.discard(offset, length));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return with(BlockDevice::flush);
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        return with(d -> d.blockStatus(offset, length));
    }

    @Override
    public ImageInfo info() throws IOException {
        return device().info();
    }

    @Override
    public synchronized void close() throws IOException {
        if (current != null) {
            BlockDevice open = current;
            current = null;
            open.close();
        } else if (broken != null) {
            broken = null;
            driver.open(image, options, opener).close();
        }
    }
}
