package io.jblk.nativeio;

import java.lang.foreign.AddressLayout;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Locale;

import static java.lang.foreign.MemoryLayout.PathElement.groupElement;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The Linux system calls jblk uses, bound through FFM to glibc, and the constants and structure layouts they need.
 * The only class that knows syscall numbers, flag values and kernel structure layouts other than io_uring's
 * ({@link IoUringAbi}).
 *
 * <p>Every wrapper returns the kernel's convention: a non-negative result, or {@code -errno} (glibc's -1 plus the
 * errno captured by {@link Linker.Option#captureCallState}, never {@code __errno_location}, which another call on
 * the same thread could overwrite). Callers turn {@code -errno} into {@link NativeIOException}s with context.
 *
 * <p>Values cite {@code include/uapi/asm-generic/fcntl.h}, {@code include/uapi/linux/falloc.h},
 * {@code include/uapi/linux/stat.h} and {@code include/uapi/asm-generic/errno*.h} of Linux 6.x; the asm-generic values
 * hold on x86-64 and arm64 except where {@link #O_DIRECT} says otherwise.
 */
final class Linux {
    private Linux() {
    }

    // open(2) flags, asm-generic/fcntl.h.
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_CREAT = 0100;
    static final int O_CLOEXEC = 02000000;
    /** Architecture-specific: on arm64 0x4000 is O_DIRECTORY and O_DIRECT is 0x10000. */
    static final int O_DIRECT = isArm64() ? 0200000 : 040000;
    static final int CREATE_MODE = 0644;

    // lseek(2) whence.
    static final int SEEK_DATA = 3;
    static final int SEEK_HOLE = 4;

    // fallocate(2) modes, linux/falloc.h.
    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;
    static final int FALLOC_FL_ZERO_RANGE = 0x10;

    // fcntl(2) open-file-description locks, asm-generic/fcntl.h.
    static final int F_OFD_GETLK = 36;
    static final int F_OFD_SETLK = 37;
    static final short F_RDLCK = 0;
    static final short F_WRLCK = 1;
    static final short F_UNLCK = 2;
    static final short SEEK_SET = 0;

    // mmap(2), asm-generic/mman-common.h.
    static final int PROT_READ = 1;
    static final int PROT_WRITE = 2;
    static final int MAP_SHARED = 1;
    static final int MAP_POPULATE = 0x8000;

    // statx(2), linux/stat.h and linux/fcntl.h.
    static final int AT_EMPTY_PATH = 0x1000;
    static final int STATX_SIZE = 0x200;
    static final int STATX_BLOCKS = 0x400;
    static final int STATX_INO = 0x100;
    static final int STATX_DIOALIGN = 0x2000;

    // errno values used in decisions (asm-generic/errno-base.h, errno.h).
    static final int EPERM = 1;
    static final int ENOENT = 2;
    static final int EINTR = 4;
    static final int EIO = 5;
    static final int ENXIO = 6;
    static final int EAGAIN = 11;
    static final int EACCES = 13;
    static final int EBUSY = 16;
    static final int EEXIST = 17;
    static final int EINVAL = 22;
    static final int ENOSYS = 38;
    static final int EOPNOTSUPP = 95;

    /** struct flock (asm-generic/fcntl.h, 64-bit off_t). */
    static final StructLayout FLOCK = MemoryLayout.structLayout(
            JAVA_SHORT.withName("l_type"), JAVA_SHORT.withName("l_whence"), MemoryLayout.paddingLayout(4),
            JAVA_LONG.withName("l_start"), JAVA_LONG.withName("l_len"), JAVA_INT.withName("l_pid"),
            MemoryLayout.paddingLayout(4));

    /** struct statx (linux/stat.h), 256 bytes; only the fields jblk reads are named. */
    static final StructLayout STATX = MemoryLayout.structLayout(
            JAVA_INT.withName("stx_mask"), JAVA_INT.withName("stx_blksize"), JAVA_LONG.withName("stx_attributes"),
            JAVA_INT.withName("stx_nlink"), JAVA_INT.withName("stx_uid"), JAVA_INT.withName("stx_gid"),
            JAVA_SHORT.withName("stx_mode"), MemoryLayout.paddingLayout(2),
            JAVA_LONG.withName("stx_ino"), JAVA_LONG.withName("stx_size"), JAVA_LONG.withName("stx_blocks"),
            JAVA_LONG.withName("stx_attributes_mask"),
            MemoryLayout.paddingLayout(64), // atime, btime, ctime, mtime: 4 x struct statx_timestamp
            JAVA_INT.withName("stx_rdev_major"), JAVA_INT.withName("stx_rdev_minor"),
            JAVA_INT.withName("stx_dev_major"), JAVA_INT.withName("stx_dev_minor"),
            JAVA_LONG.withName("stx_mnt_id"),
            JAVA_INT.withName("stx_dio_mem_align"), JAVA_INT.withName("stx_dio_offset_align"),
            MemoryLayout.paddingLayout(96));

    /** struct iovec. */
    static final StructLayout IOVEC = MemoryLayout.structLayout(ADDRESS.withName("iov_base"), JAVA_LONG.withName("iov_len"));
    static final long IOV_MAX = 1024;

    private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURE.varHandle(groupElement("errno"));
    /** One errno capture buffer per thread; an auto arena frees it with the thread-local. */
    private static final ThreadLocal<MemorySegment> CAPTURE_STATE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBC = LINKER.defaultLookup();
    private static final AddressLayout C_POINTER = ADDRESS;

    private static final MethodHandle MH$open = link("open", FunctionDescriptor.of(JAVA_INT, C_POINTER, JAVA_INT, JAVA_INT), 2);
    private static final MethodHandle MH$close = link("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$pread = link("pread64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, C_POINTER, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle MH$pwrite = link("pwrite64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, C_POINTER, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle MH$pwritev = link("pwritev64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, C_POINTER, JAVA_INT, JAVA_LONG), -1);
    private static final MethodHandle MH$fallocate = link("fallocate64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG), -1);
    private static final MethodHandle MH$fdatasync = link("fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT), -1);
    private static final MethodHandle MH$ftruncate = link("ftruncate64",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG), -1);
    private static final MethodHandle MH$lseek = link("lseek64",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_INT), -1);
    private static final MethodHandle MH$statx = link("statx",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, C_POINTER, JAVA_INT, JAVA_INT, C_POINTER), -1);
    private static final MethodHandle MH$fcntl = link("fcntl", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, C_POINTER), 2);
    private static final MethodHandle MH$mmap = link("mmap64",
            FunctionDescriptor.of(C_POINTER, C_POINTER, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG), -1);
    private static final MethodHandle MH$munmap = link("munmap", FunctionDescriptor.of(JAVA_INT, C_POINTER, JAVA_LONG), -1);
    /** long syscall(long nr, ...): variadic from the second argument, every argument passed as a C long. */
    private static final MethodHandle MH$syscall6 = link("syscall", FunctionDescriptor.of(JAVA_LONG,
            JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    /** Binds the libc function {@code name}, capturing errno; also used by {@link LinuxIpc}. */
    @SuppressWarnings("restricted")
    static MethodHandle link(String name, FunctionDescriptor descriptor, int firstVariadic) {
        MemorySegment symbol = LIBC.find(name).orElseThrow(
                () -> new UnsupportedOperationException("libc has no symbol " + name));
        Linker.Option capture = Linker.Option.captureCallState("errno");
        return firstVariadic >= 0
                ? LINKER.downcallHandle(symbol, descriptor, capture, Linker.Option.firstVariadicArg(firstVariadic))
                : LINKER.downcallHandle(symbol, descriptor, capture);
    }

    private static boolean isArm64() {
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        return arch.equals("aarch64") || arch.equals("arm64");
    }

    static MemorySegment state() {
        return CAPTURE_STATE.get();
    }

    static long check(long result, MemorySegment state) {
        return result == -1 ? -(int) ERRNO.get(state, 0L) : result;
    }

    /** Rethrows a failure of the call mechanism itself (never a syscall error). */
    static AssertionError linkFailure(Throwable t) {
        return new AssertionError("native call failed unexpectedly", t);
    }

    static int open(MemorySegment cPath, int flags, int mode) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$open.invokeExact(s, cPath, flags, mode), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static int close(int fd) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$close.invokeExact(s, fd), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static long pread(int fd, MemorySegment buf, long offset) {
        MemorySegment s = state();
        try {
            return check((long) MH$pread.invokeExact(s, fd, buf, buf.byteSize(), offset), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static long pwrite(int fd, MemorySegment buf, long offset) {
        MemorySegment s = state();
        try {
            return check((long) MH$pwrite.invokeExact(s, fd, buf, buf.byteSize(), offset), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** {@code iov} holds {@code count} {@link #IOVEC}s. */
    static long pwritev(int fd, MemorySegment iov, int count, long offset) {
        MemorySegment s = state();
        try {
            return check((long) MH$pwritev.invokeExact(s, fd, iov, count, offset), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static int fallocate(int fd, int mode, long offset, long length) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$fallocate.invokeExact(s, fd, mode, offset, length), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static int fdatasync(int fd) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$fdatasync.invokeExact(s, fd), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static int ftruncate(int fd, long size) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$ftruncate.invokeExact(s, fd, size), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static long lseek(int fd, long offset, int whence) {
        MemorySegment s = state();
        try {
            return check((long) MH$lseek.invokeExact(s, fd, offset, whence), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** statx on an open fd (empty path + AT_EMPTY_PATH) into {@code buf}, a {@link #STATX}. */
    static int fstatx(int fd, int mask, MemorySegment buf) {
        MemorySegment s = state();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment empty = arena.allocateFrom("");
            return (int) check((int) MH$statx.invokeExact(s, fd, empty, AT_EMPTY_PATH, mask, buf), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** fcntl with a pointer argument (a {@link #FLOCK} for the OFD lock commands). */
    static int fcntl(int fd, int cmd, MemorySegment arg) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$fcntl.invokeExact(s, fd, cmd, arg), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** mmap; returns the address, or -errno (MAP_FAILED is -1, so the two never collide with a real address). */
    static long mmap(long length, int prot, int flags, int fd, long offset) {
        MemorySegment s = state();
        try {
            MemorySegment r = (MemorySegment) MH$mmap.invokeExact(s, MemorySegment.NULL, length, prot, flags, fd, offset);
            return check(r.address(), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    static int munmap(long address, long length) {
        MemorySegment s = state();
        try {
            return (int) check((int) MH$munmap.invokeExact(s, MemorySegment.ofAddress(address), length), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** A raw system call by number, all six arguments as longs. */
    static long syscall(long number, long a1, long a2, long a3, long a4, long a5, long a6) {
        MemorySegment s = state();
        try {
            return check((long) MH$syscall6.invokeExact(s, number, a1, a2, a3, a4, a5, a6), s);
        } catch (Throwable t) {
            throw linkFailure(t);
        }
    }

    /** Layout offsets, derived once from the layouts. */
    static long offsetOf(StructLayout layout, String field) {
        return layout.byteOffset(groupElement(field));
    }
}
