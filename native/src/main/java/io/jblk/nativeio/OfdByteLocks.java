package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * One-byte open-file-description locks ({@code F_OFD_SETLK}/{@code F_OFD_GETLK}) on a descriptor, as QEMU takes
 * them. They belong to the open file description, not the process: two opens of one file in this JVM see each
 * other's locks exactly as two processes do, and closing another descriptor of the file drops nothing.
 */
final class OfdByteLocks implements PermissionLock.ByteLocks {
    private final int fd;
    private final Path path;

    OfdByteLocks(int fd, Path path) {
        this.fd = fd;
        this.path = path;
    }

    @Override
    public void lock(long offset) throws IOException {
        int r = set(Linux.F_OFD_SETLK, Linux.F_RDLCK, offset).result;
        if (r < 0) {
            // A read lock fails only where someone holds a write lock on the byte: not QEMU, but still a conflict.
            if (-r == Linux.EAGAIN || -r == Linux.EACCES) {
                throw new IOException("Failed to lock byte " + offset + " of " + path
                        + ": another process holds a write lock on it");
            }
            throw new NativeIOException("fcntl(F_OFD_SETLK)", path, offset, 1, -r);
        }
    }

    @Override
    public void unlock(long offset) throws IOException {
        int r = set(Linux.F_OFD_SETLK, Linux.F_UNLCK, offset).result;
        if (r < 0) {
            throw new NativeIOException("fcntl(F_OFD_SETLK unlock)", path, offset, 1, -r);
        }
    }

    @Override
    public boolean lockedByOthers(long offset) throws IOException {
        Outcome o = set(Linux.F_OFD_GETLK, Linux.F_WRLCK, offset);
        if (o.result < 0) {
            throw new NativeIOException("fcntl(F_OFD_GETLK)", path, offset, 1, -o.result);
        }
        return o.type != Linux.F_UNLCK;
    }

    private record Outcome(int result, short type) {
    }

    private Outcome set(int command, short type, long offset) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment flock = arena.allocate(Linux.FLOCK);
            flock.set(ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_type"), type);
            flock.set(ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_whence"), Linux.SEEK_SET);
            flock.set(ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.FLOCK, "l_start"), offset);
            flock.set(ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.FLOCK, "l_len"), 1L);
            int r = Linux.fcntl(fd, command, flock);
            return new Outcome(r, flock.get(ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.FLOCK, "l_type")));
        }
    }
}
