package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * An open file descriptor and its image lock: QEMU's permission byte locks ({@link PermissionLock}) as
 * open-file-description locks, so jblk and QEMU see each other's opens, and two opens of one file within this JVM
 * conflict exactly as two processes would.
 */
final class FileHandle {
    private final Path path;
    private final int fd;
    private final PermissionLock lock;
    private boolean closed;

    private FileHandle(Path path, int fd, PermissionLock lock) {
        this.path = path;
        this.fd = fd;
        this.lock = lock;
    }

    static FileHandle open(Path path, HostFileOptions options) throws IOException {
        int flags = (options.readOnly() ? Linux.O_RDONLY : Linux.O_RDWR) | Linux.O_CLOEXEC;
        if (options.create()) {
            flags |= Linux.O_CREAT;
        }
        if (options.direct()) {
            flags |= Linux.O_DIRECT;
        }
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = Linux.open(arena.allocateFrom(path.toString()), flags, Linux.CREATE_MODE);
        }
        if (fd < 0) {
            throw openFailure(path, options, -fd);
        }
        PermissionLock lock = options.lock() == null ? null : new PermissionLock(path, new OfdByteLocks(fd, path));
        if (lock != null) {
            try {
                lock.change(options.lock());
            } catch (IOException | RuntimeException e) {
                Linux.close(fd);
                throw e;
            }
        }
        return new FileHandle(path, fd, lock);
    }

    private static IOException openFailure(Path path, HostFileOptions options, int errno) {
        String reason = "open" + (options.direct() ? " with O_DIRECT" : "") + ": " + Errno.describe(errno);
        return switch (errno) {
            case Linux.ENOENT -> new NoSuchFileException(path.toString(), null, reason);
            case Linux.EACCES, Linux.EPERM -> new AccessDeniedException(path.toString(), null, reason);
            case Linux.EEXIST -> new FileAlreadyExistsException(path.toString(), null, reason);
            default -> new NativeIOException("open" + (options.direct() ? " (O_DIRECT)" : ""), path, -1, -1, errno);
        };
    }

    int fd() {
        return fd;
    }

    Path path() {
        return path;
    }

    FileStat stat() throws IOException {
        return stat(fd, path);
    }

    private static FileStat stat(int fd, Path path) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(Linux.STATX);
            int r = Linux.fstatx(fd, Linux.STATX_SIZE | Linux.STATX_BLOCKS | Linux.STATX_INO | Linux.STATX_DIOALIGN, buf);
            if (r < 0) {
                throw new NativeIOException("statx", path, -1, -1, -r);
            }
            int mask = intAt(buf, "stx_mask");
            boolean dio = (mask & Linux.STATX_DIOALIGN) != 0;
            String identity = intAt(buf, "stx_dev_major") + ":" + intAt(buf, "stx_dev_minor") + ":" + longAt(buf, "stx_ino");
            return new FileStat(longAt(buf, "stx_size"), longAt(buf, "stx_blocks"), identity,
                    dio ? intAt(buf, "stx_dio_mem_align") : 0, dio ? intAt(buf, "stx_dio_offset_align") : 0);
        }
    }

    private static int intAt(MemorySegment buf, String field) {
        return buf.get(java.lang.foreign.ValueLayout.JAVA_INT, Linux.offsetOf(Linux.STATX, field));
    }

    private static long longAt(MemorySegment buf, String field) {
        return buf.get(java.lang.foreign.ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.STATX, field));
    }

    /** Closes the descriptor, which also drops its OFD lock. Idempotent. */
    void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        if (lock != null) {
            // Unlock explicitly: close(2) drops an OFD lock only with the last reference to the open file, and
            // io_uring releases its references to completed requests' files asynchronously (deferred fput), so a
            // reopen right after close would otherwise sometimes find the file still locked.
            try {
                lock.release();
            } catch (IOException | RuntimeException e) {
                Linux.close(fd);
                throw e;
            }
        }
        int r = Linux.close(fd);
        if (r < 0) {
            throw new NativeIOException("close", path, -1, -1, -r);
        }
    }
}
