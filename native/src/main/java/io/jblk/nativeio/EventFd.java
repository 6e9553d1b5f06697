package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A Linux eventfd: a 64-bit counter that {@link #signal()} adds to and {@link #await()} reads and resets, blocking
 * while it is zero. vhost-user passes these between processes as "kick" (guest to back-end) and "call" (back-end to
 * guest interrupt) notifications; only the fact of a signal matters, never the counter's value.
 *
 * <p>Thread contract: any thread may signal; one thread at a time should await (a second one would simply see the
 * counter already reset and block on). Waiting blocks the calling platform thread in read(2); a virtual thread
 * would pin its carrier, so waiters should be platform threads. Use {@link Poll} to wait for several descriptors
 * or with a timeout.
 */
public final class EventFd implements AutoCloseable {
    /** The 8-byte 1 every signal writes; never modified, so any number of threads may pass it to write(2) at once. */
    private static final MemorySegment ONE = Arena.global().allocate(ValueLayout.JAVA_LONG);

    static {
        ONE.set(ValueLayout.JAVA_LONG, 0, 1L);
    }

    private final NativeFd fd;
    /** Where {@link #await()} reads the counter (one waiter at a time). */
    private final MemorySegment counter = Arena.ofAuto().allocate(ValueLayout.JAVA_LONG);

    private EventFd(NativeFd fd) {
        this.fd = fd;
    }

    /** A new eventfd with counter 0 (close-on-exec). */
    public static EventFd create() throws IOException {
        NativeAccess.require();
        int r = LinuxIpc.eventfd(0, LinuxIpc.EFD_CLOEXEC);
        if (r < 0) {
            throw new NativeIOException("eventfd", Path.of("eventfd"), -1, -1, -r);
        }
        return new EventFd(new NativeFd(r, "eventfd"));
    }

    /** Uses {@code fd} (e.g. received from a vhost-user front-end) as an eventfd; takes ownership. */
    public static EventFd of(NativeFd fd) {
        return new EventFd(fd);
    }

    public NativeFd fd() {
        return fd;
    }

    /** Adds 1 to the counter, waking a waiter. */
    public void signal() throws IOException {
        long r;
        do {
            r = LinuxIpc.write(fd.value(), ONE);
        } while (r == -Linux.EINTR);
        // EAGAIN: the counter is at its maximum, so a waiter is certainly woken; nothing is lost.
        if (r < 0 && r != -Linux.EAGAIN) {
            throw new NativeIOException("write", Path.of(fd.description()), -1, 8, (int) -r);
        }
    }

    /** Blocks until the counter is non-zero, then returns it and resets it to 0. */
    public long await() throws IOException {
        long r;
        do {
            r = LinuxIpc.read(fd.value(), counter);
        } while (r == -Linux.EINTR);
        if (r < 0) {
            throw new NativeIOException("read", Path.of(fd.description()), -1, 8, (int) -r);
        }
        if (r != 8) {
            throw new IOException(fd.description() + " returned " + r + " bytes instead of an 8-byte counter"
                    + " (not an eventfd?)");
        }
        return counter.get(ValueLayout.JAVA_LONG, 0);
    }

    @Override
    public void close() throws IOException {
        fd.close();
    }

    @Override
    public String toString() {
        return fd.toString();
    }
}
