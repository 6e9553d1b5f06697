package io.jblk.nativeio;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The Linux calls and layouts for passing file descriptors between processes and sharing memory with them: unix
 * stream sockets with {@code SCM_RIGHTS} ancillary data, eventfd, memfd and poll. Kept apart from {@link Linux}
 * (files and io_uring's helpers) so each class stays about one kind of kernel object; it shares {@link Linux}'s
 * errno capture and its {@code -errno} return convention.
 *
 * <p>Values cite {@code include/linux/socket.h}, {@code include/uapi/linux/un.h}, {@code include/uapi/linux/eventfd.h}
 * (via {@code O_CLOEXEC}/{@code O_NONBLOCK}), {@code include/uapi/linux/memfd.h} and
 * {@code include/uapi/asm-generic/poll.h} of Linux 6.x; they are the same on x86-64 and arm64, and the structure
 * layouts are those of the LP64 ABI both use.
 */
final class LinuxIpc {
    private LinuxIpc() {
    }

    // socket(2), include/linux/socket.h and include/linux/net.h.
    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = Linux.O_CLOEXEC;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    static final int SHUT_RD = 0;
    static final int SHUT_WR = 1;
    static final int SHUT_RDWR = 2;

    // recvmsg/sendmsg flags.
    static final int MSG_CTRUNC = 0x8;
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;

    // eventfd(2) flags are open(2)'s.
    static final int EFD_CLOEXEC = Linux.O_CLOEXEC;

    // memfd_create(2), linux/memfd.h.
    static final int MFD_CLOEXEC = 1;

    // mmap(2) flag beyond those in Linux, asm-generic/mman-common.h (x86-64 and arm64 use the generic value).
    static final int MAP_NORESERVE = 0x4000;

    // poll(2) events, asm-generic/poll.h.
    static final short POLLIN = 0x1;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;

    // errno values used in decisions beyond those in Linux.
    static final int EBADF = 9;
    static final int EPIPE = 32;
    static final int ECONNABORTED = 103;
    static final int ECONNRESET = 104;
    static final int ECONNREFUSED = 111;

    /** Largest socket path: sun_path is 108 bytes including the terminating NUL. */
    static final int SUN_PATH_MAX = 107;

    /** struct sockaddr_un (linux/un.h). */
    static final StructLayout SOCKADDR_UN = MemoryLayout.structLayout(
            JAVA_SHORT.withName("sun_family"), MemoryLayout.sequenceLayout(108, JAVA_BYTE).withName("sun_path"));

    /** struct msghdr (include/linux/socket.h, the user-space LP64 form: size_t lengths, int flags). */
    static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"), JAVA_INT.withName("msg_namelen"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"), JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"), JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"), MemoryLayout.paddingLayout(4));

    /** struct cmsghdr; the data follows at {@link #CMSG_DATA} (CMSG_ALIGN of the header). */
    static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"), JAVA_INT.withName("cmsg_level"), JAVA_INT.withName("cmsg_type"));

    /** struct pollfd. */
    static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"), JAVA_SHORT.withName("events"), JAVA_SHORT.withName("revents"));

    static final long MSG_IOV = Linux.offsetOf(MSGHDR, "msg_iov");
    static final long MSG_IOVLEN = Linux.offsetOf(MSGHDR, "msg_iovlen");
    static final long MSG_CONTROL = Linux.offsetOf(MSGHDR, "msg_control");
    static final long MSG_CONTROLLEN = Linux.offsetOf(MSGHDR, "msg_controllen");
    static final long MSG_FLAGS = Linux.offsetOf(MSGHDR, "msg_flags");
    static final long CMSG_LEN_OFF = Linux.offsetOf(CMSGHDR, "cmsg_len");
    static final long CMSG_LEVEL = Linux.offsetOf(CMSGHDR, "cmsg_level");
    static final long CMSG_TYPE = Linux.offsetOf(CMSGHDR, "cmsg_type");
    static final long CMSG_DATA = CMSGHDR.byteSize();
    static final long POLLFD_EVENTS = Linux.offsetOf(POLLFD, "events");
    static final long POLLFD_REVENTS = Linux.offsetOf(POLLFD, "revents");

    /** CMSG_ALIGN: ancillary data is padded to the size of a long. */
    static long cmsgAlign(long length) {
        return (length + 7) & ~7L;
    }

    /** CMSG_SPACE: the buffer bytes one control message with {@code dataLength} bytes of data takes. */
    static long cmsgSpace(long dataLength) {
        return CMSG_DATA + cmsgAlign(dataLength);
    }

    /** CMSG_LEN: the cmsg_len value of one control message with {@code dataLength} bytes of data. */
    static long cmsgLen(long dataLength) {
        return CMSG_DATA + dataLength;
    }

    private static final MethodHandle MH$socket = Linux.link("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$socketpair = Linux.link("socketpair",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS), -1);
    private static final MethodHandle MH$bind = Linux.link("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$connect = Linux.link("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$listen = Linux.link("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$accept4 = Linux.link("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$shutdown = Linux.link("shutdown",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$recvmsg = Linux.link("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$sendmsg = Linux.link("sendmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$eventfd = Linux.link("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$memfd_create = Linux.link("memfd_create",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT), -1);
    private static final MethodHandle MH$read = Linux.link("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle MH$write = Linux.link("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG), -1);
    private static final MethodHandle MH$poll = Linux.link("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT), -1);

    static int socket(int domain, int type, int protocol) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$socket.invokeExact(s, domain, type, protocol), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    /** {@code fds} receives two ints. */
    static int socketpair(int domain, int type, int protocol, MemorySegment fds) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$socketpair.invokeExact(s, domain, type, protocol, fds), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int bind(int fd, MemorySegment address) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$bind.invokeExact(s, fd, address, (int) address.byteSize()), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int connect(int fd, MemorySegment address) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$connect.invokeExact(s, fd, address, (int) address.byteSize()), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int listen(int fd, int backlog) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$listen.invokeExact(s, fd, backlog), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    /** accept4 without asking for the peer's address. */
    static int accept4(int fd, int flags) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$accept4.invokeExact(s, fd, MemorySegment.NULL, MemorySegment.NULL,
                    flags), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int shutdown(int fd, int how) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$shutdown.invokeExact(s, fd, how), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    /** {@code msg} is a {@link #MSGHDR}. */
    static long recvmsg(int fd, MemorySegment msg, int flags) {
        MemorySegment s = Linux.state();
        try {
            return Linux.check((long) MH$recvmsg.invokeExact(s, fd, msg, flags), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    /** {@code msg} is a {@link #MSGHDR}. */
    static long sendmsg(int fd, MemorySegment msg, int flags) {
        MemorySegment s = Linux.state();
        try {
            return Linux.check((long) MH$sendmsg.invokeExact(s, fd, msg, flags), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int eventfd(int initialValue, int flags) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$eventfd.invokeExact(s, initialValue, flags), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static int memfdCreate(MemorySegment cName, int flags) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$memfd_create.invokeExact(s, cName, flags), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static long read(int fd, MemorySegment buf) {
        MemorySegment s = Linux.state();
        try {
            return Linux.check((long) MH$read.invokeExact(s, fd, buf, buf.byteSize()), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    static long write(int fd, MemorySegment buf) {
        MemorySegment s = Linux.state();
        try {
            return Linux.check((long) MH$write.invokeExact(s, fd, buf, buf.byteSize()), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }

    /** {@code fds} holds {@code count} {@link #POLLFD}s. */
    static int poll(MemorySegment fds, long count, int timeoutMillis) {
        MemorySegment s = Linux.state();
        try {
            return (int) Linux.check((int) MH$poll.invokeExact(s, fds, count, timeoutMillis), s);
        } catch (Throwable t) {
            throw Linux.linkFailure(t);
        }
    }
}
