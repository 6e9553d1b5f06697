package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;

/**
 * Anonymous shared memory as a file descriptor (memfd_create), which can be mapped by this process
 * ({@link SharedMemory#map}) and handed to another over a unix socket. vhost-user uses one for the in-flight
 * request log a back-end shares with its front-end; tests use them as stand-in guest RAM.
 */
public final class MemFd {
    private MemFd() {
    }

    /** A new memfd of {@code size} bytes (zero-filled, close-on-exec); {@code name} shows in /proc/PID/fd. */
    public static NativeFd create(String name, long size) throws IOException {
        NativeAccess.require();
        if (size < 0) {
            throw new IllegalArgumentException("negative memfd size " + size);
        }
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            fd = LinuxIpc.memfdCreate(arena.allocateFrom(name), LinuxIpc.MFD_CLOEXEC);
        }
        if (fd < 0) {
            throw new NativeIOException("memfd_create", Path.of(name), -1, -1, -fd);
        }
        NativeFd owned = new NativeFd(fd, "memfd " + name);
        int r = Linux.ftruncate(fd, size);
        if (r < 0) {
            owned.closeQuietly();
            throw new NativeIOException("ftruncate", Path.of("memfd " + name), -1, size, -r);
        }
        return owned;
    }
}
