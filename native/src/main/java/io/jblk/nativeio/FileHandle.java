package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * An open file descriptor and its advisory lock. Locks are Linux open-file-description locks over the whole file
 * (shared for readers, exclusive for a writer), which conflict with QEMU's OFD byte locks and with other processes'
 * POSIX locks. Within this JVM a registry keyed by device and inode mirrors what {@link ChannelHostFile} does: a second
 * writer is refused, a reader may join a file this process already holds.
 */
final class FileHandle {
    /** Holders of each locked file in this process, by {@link FileStat#identity()}. */
    private static final Map<String, Integer> HOLDERS = new HashMap<>();

    private final Path path;
    private final int fd;
    private final String lockKey;
    private boolean closed;

    private FileHandle(Path path, int fd, String lockKey) {
        this.path = path;
        this.fd = fd;
        this.lockKey = lockKey;
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
        FileHandle handle = new FileHandle(path, fd, options.lock() ? stat(fd, path).identity() : null);
        if (options.lock()) {
            try {
                handle.lock(options.readOnly());
            } catch (IOException | RuntimeException e) {
                Linux.close(fd);
                throw e;
            }
        }
        return handle;
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

    private void lock(boolean shared) throws IOException {
        synchronized (HOLDERS) {
            boolean heldHere = HOLDERS.containsKey(lockKey);
            if (heldHere && !shared) {
                throw new IOException(path + " is already open in this process (could not take an exclusive lock)");
            }
            int r;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment flock = arena.allocate(Linux.FLOCK);
                flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_type"),
                        shared ? Linux.F_RDLCK : Linux.F_WRLCK);
                flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_whence"), Linux.SEEK_SET);
                // l_start = l_len = 0: the whole file, however far it grows.
                r = Linux.fcntl(fd, Linux.F_OFD_SETLK, flock);
            }
            if (r < 0 && !(shared && heldHere && (-r == Linux.EAGAIN || -r == Linux.EACCES))) {
                if (-r == Linux.EAGAIN || -r == Linux.EACCES) {
                    throw new IOException(path + " is in use by another process (could not take "
                            + (shared ? "a shared" : "an exclusive") + " lock)");
                }
                throw new NativeIOException("fcntl(F_OFD_SETLK)", path, -1, -1, -r);
            }
            HOLDERS.merge(lockKey, 1, Integer::sum);
        }
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
        if (lockKey != null) {
            synchronized (HOLDERS) {
                HOLDERS.computeIfPresent(lockKey, (k, n) -> n > 1 ? n - 1 : null);
            }
            // Unlock explicitly: close(2) drops an OFD lock only with the last reference to the open file, and
            // io_uring releases its references to completed requests' files asynchronously (deferred fput), so a
            // reopen right after close would otherwise sometimes find the file still locked.
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment flock = arena.allocate(Linux.FLOCK);
                flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_type"), Linux.F_UNLCK);
                flock.set(java.lang.foreign.ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_whence"), Linux.SEEK_SET);
                Linux.fcntl(fd, Linux.F_OFD_SETLK, flock);
            }
        }
        int r = Linux.close(fd);
        if (r < 0) {
            throw new NativeIOException("close", path, -1, -1, -r);
        }
    }
}
