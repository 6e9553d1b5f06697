package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A connected unix stream socket that can carry file descriptors ({@code SCM_RIGHTS}), which Java's own
 * {@code SocketChannel} cannot: the vhost-user control channel, over which a front-end hands its guest RAM and
 * eventfds to the back-end.
 *
 * <p>Thread contract: one thread receives and one thread sends at a time (they may be different threads).
 * {@link #shutdown()} may be called from any thread and makes a blocked {@link #receive} return end-of-stream;
 * {@link #close()} must come after the receiving and sending threads are done with the connection.
 */
public final class UnixConnection implements AutoCloseable {
    /** Most descriptors accepted with one message; more are discarded by the kernel (and reported truncated). */
    public static final int MAX_FDS = 32;

    private final NativeFd fd;
    private final String name;

    UnixConnection(NativeFd fd, String name) {
        this.fd = fd;
        this.name = name;
    }

    /**
     * What one receive returned.
     *
     * @param bytes        bytes read; 0 means the peer closed the connection (or it was shut down)
     * @param fds          descriptors that arrived with these bytes, now owned by the caller
     * @param fdsTruncated whether the peer sent more descriptors than the receive accepted (the kernel closed the
     *                     rest)
     */
    public record Received(int bytes, List<NativeFd> fds, boolean fdsTruncated) {
        /** Closes every received descriptor (for a message that is refused). */
        public void closeFds() {
            fds.forEach(NativeFd::closeQuietly);
        }
    }

    /** Connects to the listening socket at {@code path}. */
    public static UnixConnection connect(Path path) throws IOException {
        NativeAccess.require();
        NativeFd fd = UnixListener.newSocket(path);
        try (Arena arena = Arena.ofConfined()) {
            int r;
            do {
                r = LinuxIpc.connect(fd.value(), UnixListener.sockaddr(arena, path));
            } while (r == -Linux.EINTR);
            if (r < 0) {
                throw new NativeIOException("connect", path, -1, -1, -r);
            }
        } catch (IOException | RuntimeException e) {
            fd.closeQuietly();
            throw e;
        }
        return new UnixConnection(fd, path.toString());
    }

    /** Two connected sockets (socketpair), e.g. for a test's two ends. */
    public static UnixConnection[] pair() throws IOException {
        NativeAccess.require();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(ValueLayout.JAVA_INT, 2);
            int r = LinuxIpc.socketpair(LinuxIpc.AF_UNIX, LinuxIpc.SOCK_STREAM | LinuxIpc.SOCK_CLOEXEC, 0, fds);
            if (r < 0) {
                throw new NativeIOException("socketpair", Path.of("socketpair"), -1, -1, -r);
            }
            return new UnixConnection[] {
                new UnixConnection(new NativeFd(fds.get(ValueLayout.JAVA_INT, 0), "socketpair end 0"), "socketpair"),
                new UnixConnection(new NativeFd(fds.get(ValueLayout.JAVA_INT, 4), "socketpair end 1"), "socketpair")
            };
        }
    }

    /** The socket path (or "socketpair"), for messages. */
    public String name() {
        return name;
    }

    /**
     * One recvmsg into {@code into}: blocks until at least one byte (or end of stream) arrives; returns the bytes
     * read and the descriptors that came with them (close-on-exec). At most {@code maxFds} descriptors are
     * accepted; 0 accepts none.
     */
    public Received receive(MemorySegment into, int maxFds) throws IOException {
        if (maxFds < 0 || maxFds > MAX_FDS) {
            throw new IllegalArgumentException("maxFds must be in [0, " + MAX_FDS + "], got " + maxFds);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(Linux.IOVEC);
            iov.set(ValueLayout.ADDRESS, Linux.offsetOf(Linux.IOVEC, "iov_base"), into);
            iov.set(ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.IOVEC, "iov_len"), into.byteSize());
            long controlSize = maxFds == 0 ? 0 : LinuxIpc.cmsgSpace(4L * maxFds);
            MemorySegment control = controlSize == 0 ? MemorySegment.NULL : arena.allocate(controlSize, 8);
            MemorySegment msg = arena.allocate(LinuxIpc.MSGHDR);
            msg.set(ValueLayout.ADDRESS, LinuxIpc.MSG_IOV, iov);
            msg.set(ValueLayout.JAVA_LONG, LinuxIpc.MSG_IOVLEN, 1L);
            msg.set(ValueLayout.ADDRESS, LinuxIpc.MSG_CONTROL, control);
            msg.set(ValueLayout.JAVA_LONG, LinuxIpc.MSG_CONTROLLEN, controlSize);
            long r;
            do {
                r = LinuxIpc.recvmsg(fd.value(), msg, LinuxIpc.MSG_CMSG_CLOEXEC);
            } while (r == -Linux.EINTR);
            if (r == -LinuxIpc.ECONNRESET) {
                return new Received(0, List.of(), false); // the peer went away with data unread: end of stream
            }
            if (r < 0) {
                throw new NativeIOException("recvmsg", Path.of(name), -1, into.byteSize(), (int) -r);
            }
            List<NativeFd> fds = controlSize == 0 ? List.of()
                    : parseRights(control, msg.get(ValueLayout.JAVA_LONG, LinuxIpc.MSG_CONTROLLEN));
            boolean truncated = (msg.get(ValueLayout.JAVA_INT, LinuxIpc.MSG_FLAGS) & LinuxIpc.MSG_CTRUNC) != 0;
            return new Received((int) r, fds, truncated);
        }
    }

    /** Walks the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR) and takes every SCM_RIGHTS descriptor. */
    private List<NativeFd> parseRights(MemorySegment control, long length) {
        List<NativeFd> fds = new ArrayList<>();
        long at = 0;
        while (at + LinuxIpc.CMSG_DATA <= length) {
            long cmsgLen = control.get(ValueLayout.JAVA_LONG, at + LinuxIpc.CMSG_LEN_OFF);
            if (cmsgLen < LinuxIpc.CMSG_DATA || at + cmsgLen > length) {
                break;
            }
            int level = control.get(ValueLayout.JAVA_INT, at + LinuxIpc.CMSG_LEVEL);
            int type = control.get(ValueLayout.JAVA_INT, at + LinuxIpc.CMSG_TYPE);
            if (level == LinuxIpc.SOL_SOCKET && type == LinuxIpc.SCM_RIGHTS) {
                long count = (cmsgLen - LinuxIpc.CMSG_DATA) / 4;
                for (long i = 0; i < count; i++) {
                    int n = control.get(ValueLayout.JAVA_INT, at + LinuxIpc.CMSG_DATA + 4 * i);
                    fds.add(new NativeFd(n, "fd " + n + " from " + name));
                }
            }
            at += LinuxIpc.cmsgAlign(cmsgLen);
        }
        return List.copyOf(fds);
    }

    /**
     * Sends all of {@code data}, with {@code fds} (duplicated into the peer; still owned by the caller) attached to
     * its first byte. A peer that went away fails with EPIPE (no SIGPIPE is raised).
     */
    public void send(MemorySegment data, NativeFd... fds) throws IOException {
        if (fds.length > MAX_FDS) {
            throw new IllegalArgumentException("at most " + MAX_FDS + " descriptors per message, got " + fds.length);
        }
        if (data.byteSize() == 0) {
            throw new IllegalArgumentException("nothing to send (descriptors travel with at least one byte)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(Linux.IOVEC);
            MemorySegment msg = arena.allocate(LinuxIpc.MSGHDR);
            long controlSize = fds.length == 0 ? 0 : LinuxIpc.cmsgSpace(4L * fds.length);
            MemorySegment control = controlSize == 0 ? MemorySegment.NULL : arena.allocate(controlSize, 8);
            if (controlSize > 0) {
                control.set(ValueLayout.JAVA_LONG, LinuxIpc.CMSG_LEN_OFF, LinuxIpc.cmsgLen(4L * fds.length));
                control.set(ValueLayout.JAVA_INT, LinuxIpc.CMSG_LEVEL, LinuxIpc.SOL_SOCKET);
                control.set(ValueLayout.JAVA_INT, LinuxIpc.CMSG_TYPE, LinuxIpc.SCM_RIGHTS);
                for (int i = 0; i < fds.length; i++) {
                    control.set(ValueLayout.JAVA_INT, LinuxIpc.CMSG_DATA + 4L * i, fds[i].value());
                }
            }
            long sent = 0;
            do {
                MemorySegment rest = data.asSlice(sent);
                iov.set(ValueLayout.ADDRESS, Linux.offsetOf(Linux.IOVEC, "iov_base"), rest);
                iov.set(ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.IOVEC, "iov_len"), rest.byteSize());
                msg.set(ValueLayout.ADDRESS, LinuxIpc.MSG_IOV, iov);
                msg.set(ValueLayout.JAVA_LONG, LinuxIpc.MSG_IOVLEN, 1L);
                msg.set(ValueLayout.ADDRESS, LinuxIpc.MSG_CONTROL, sent == 0 ? control : MemorySegment.NULL);
                msg.set(ValueLayout.JAVA_LONG, LinuxIpc.MSG_CONTROLLEN, sent == 0 ? controlSize : 0);
                long r = LinuxIpc.sendmsg(fd.value(), msg, LinuxIpc.MSG_NOSIGNAL);
                if (r == -Linux.EINTR) {
                    continue;
                }
                if (r < 0) {
                    throw new NativeIOException("sendmsg", Path.of(name), -1, rest.byteSize(), (int) -r);
                }
                sent += r;
            } while (sent < data.byteSize());
        }
    }

    /** Sends {@code bytes}, with {@code fds} attached to the first byte. */
    public void send(byte[] bytes, NativeFd... fds) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(bytes.length);
            MemorySegment.copy(bytes, 0, data, ValueLayout.JAVA_BYTE, 0, bytes.length);
            send(data, fds);
        }
    }

    /** Stops both directions: a blocked {@link #receive} returns end of stream, the peer sees end of stream. */
    public void shutdown() {
        if (fd.isOpen()) {
            LinuxIpc.shutdown(fd.value(), LinuxIpc.SHUT_RDWR); // ENOTCONN once the peer is gone: nothing to stop
        }
    }

    /** Half-close: the peer reads end of stream after everything sent so far; receiving goes on. */
    public void shutdownOutput() {
        if (fd.isOpen()) {
            LinuxIpc.shutdown(fd.value(), LinuxIpc.SHUT_WR);
        }
    }

    @Override
    public void close() throws IOException {
        fd.close();
    }

    @Override
    public String toString() {
        return "unix connection " + name + " " + fd;
    }
}
