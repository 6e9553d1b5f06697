package io.jblk.nativeio;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * An owned Linux file descriptor that jblk did not open as a file: one received from another process over a unix
 * socket ({@link UnixConnection#receive}), or made by {@link EventFd} or {@link MemFd}. Closing is idempotent and
 * happens once even when several threads race to close.
 *
 * <p>Thread contract: {@link #value()} may be used by any thread until {@link #close()}; the owner must make sure
 * no other thread is blocked in a call on the number when it closes it (a number closed under a blocked call can be
 * reused by the next open and the call would then act on the wrong file).
 */
public final class NativeFd implements AutoCloseable {
    private static final int CLOSED = -1;

    private final AtomicInteger fd;
    private final String what;

    NativeFd(int fd, String what) {
        if (fd < 0) {
            throw new IllegalArgumentException("not a file descriptor: " + fd);
        }
        this.fd = new AtomicInteger(fd);
        this.what = what;
    }

    /**
     * Takes ownership of {@code fd}, e.g. one inherited from a parent process ({@code --fd=N}); {@code what} names
     * it in error messages.
     */
    public static NativeFd adopt(int fd, String what) {
        return new NativeFd(fd, what);
    }

    /** The descriptor number; fails once closed. */
    public int value() {
        int v = fd.get();
        if (v == CLOSED) {
            throw new IllegalStateException(what + " is closed");
        }
        return v;
    }

    public boolean isOpen() {
        return fd.get() != CLOSED;
    }

    /** What this descriptor is, for messages ("eventfd", "memfd guest-ram", "fd 7 from /run/vm.sock"). */
    public String description() {
        return what;
    }

    /** Closes the descriptor (once); close(2)'s EINTR/EIO are not retried, as Linux frees the number anyway. */
    @Override
    public void close() throws IOException {
        int v = fd.getAndSet(CLOSED);
        if (v != CLOSED) {
            int r = Linux.close(v);
            if (r < 0 && r != -Linux.EINTR) {
                throw new NativeIOException("close", java.nio.file.Path.of(what), -1, -1, -r);
            }
        }
    }

    /** Closes without reporting a failure: for cleanup paths that already have an error to report. */
    public void closeQuietly() {
        try {
            close();
        } catch (IOException ignored) {
            // the number is released whatever close(2) said
        }
    }

    @Override
    public String toString() {
        int v = fd.get();
        return what + (v == CLOSED ? " (closed)" : " (fd " + v + ")");
    }
}
