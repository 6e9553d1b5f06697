package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A listening unix stream socket at a path, whose accepted connections can carry file descriptors
 * ({@link UnixConnection}).
 *
 * <p>Binding refuses a path that exists and is not a socket, and a socket another process still listens on; a
 * socket file left behind by a process that died (connect is refused) is replaced. {@link #close()} removes the
 * socket file.
 *
 * <p>Thread contract: one thread at a time calls {@link #accept()}; {@link #close()} may be called from any thread,
 * wakes that thread (accept returns null) and waits for it to leave before releasing the descriptor.
 */
public final class UnixListener implements AutoCloseable {
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path path;
    private final NativeFd fd;
    private final EventFd stop;
    private final ReentrantLock acceptLock = new ReentrantLock();
    private volatile boolean closed;

    private UnixListener(Path path, NativeFd fd, EventFd stop) {
        this.path = path;
        this.fd = fd;
        this.stop = stop;
    }

    /** Binds and listens at {@code path}. */
    public static UnixListener bind(Path path) throws IOException {
        NativeAccess.require();
        removeStaleSocket(path);
        NativeFd fd = newSocket(path);
        EventFd stop = null;
        try (Arena arena = Arena.ofConfined()) {
            int r = LinuxIpc.bind(fd.value(), sockaddr(arena, path));
            if (r < 0) {
                throw new NativeIOException("bind", path, -1, -1, -r);
            }
            r = LinuxIpc.listen(fd.value(), 16);
            if (r < 0) {
                Files.deleteIfExists(path);
                throw new NativeIOException("listen", path, -1, -1, -r);
            }
            stop = EventFd.create();
            return new UnixListener(path, fd, stop);
        } catch (IOException | RuntimeException e) {
            fd.closeQuietly();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    /**
     * Waits for the next connection; returns null once the listener is closed (also when {@link #close()} is
     * called during the wait).
     */
    public UnixConnection accept() throws IOException {
        acceptLock.lock();
        try {
            while (!closed) {
                long ready = Poll.readable(-1, fd, stop.fd());
                if (closed || (ready & 2) != 0) {
                    return null;
                }
                int r = LinuxIpc.accept4(fd.value(), LinuxIpc.SOCK_CLOEXEC);
                if (r >= 0) {
                    return new UnixConnection(new NativeFd(r, "connection on " + path), path.toString());
                }
                // EINTR, or a client that gave up between poll and accept (ECONNABORTED): wait again
                if (r != -Linux.EINTR && r != -LinuxIpc.ECONNABORTED && r != -Linux.EAGAIN) {
                    throw new NativeIOException("accept", path, -1, -1, -r);
                }
            }
            return null;
        } finally {
            acceptLock.unlock();
        }
    }

    /** Stops accepting, wakes a waiting {@link #accept()}, releases the socket and removes its file. Idempotent. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        stop.signal();
        acceptLock.lock(); // the accepting thread has left poll/accept: the numbers can be released
        try {
            fd.close();
            stop.close();
        } finally {
            acceptLock.unlock();
            Files.deleteIfExists(path);
        }
    }

    static NativeFd newSocket(Path path) throws IOException {
        int s = LinuxIpc.socket(LinuxIpc.AF_UNIX, LinuxIpc.SOCK_STREAM | LinuxIpc.SOCK_CLOEXEC, 0);
        if (s < 0) {
            throw new NativeIOException("socket(AF_UNIX)", path, -1, -1, -s);
        }
        return new NativeFd(s, "unix socket " + path);
    }

    /** A sockaddr_un for {@code path}; paths longer than sun_path holds are refused, never truncated. */
    static MemorySegment sockaddr(Arena arena, Path path) {
        byte[] bytes = path.toString().getBytes(StandardCharsets.UTF_8);
        if (bytes.length == 0 || bytes.length > LinuxIpc.SUN_PATH_MAX) {
            throw new IllegalArgumentException("unix socket path " + path + " is " + bytes.length
                    + " bytes long; Linux allows 1 to " + LinuxIpc.SUN_PATH_MAX);
        }
        MemorySegment addr = arena.allocate(LinuxIpc.SOCKADDR_UN);
        addr.set(ValueLayout.JAVA_SHORT, 0, (short) LinuxIpc.AF_UNIX);
        MemorySegment.copy(bytes, 0, addr, ValueLayout.JAVA_BYTE, 2, bytes.length);
        return addr;
    }

    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it");
        }
        NativeFd probe = newSocket(path);
        try (Arena arena = Arena.ofConfined()) {
            int r = LinuxIpc.connect(probe.value(), sockaddr(arena, path));
            if (r == 0) {
                throw new IOException(path + " is in use: another process is listening on it");
            }
            if (r != -LinuxIpc.ECONNREFUSED) {
                throw new NativeIOException("connect (checking for a stale socket)", path, -1, -1, -r);
            }
        } finally {
            probe.closeQuietly();
        }
        Files.deleteIfExists(path); // nobody listens: left behind by a process that died
    }
}
