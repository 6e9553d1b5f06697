package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * poll(2) for readability over a few descriptors: how a vhost-user queue worker waits for either its kick eventfd
 * or its own stop eventfd, and how a listener waits for a connection or a shutdown request.
 */
public final class Poll {
    private Poll() {
    }

    /**
     * Waits until at least one of {@code fds} is readable, hung up or in error, or {@code timeoutMillis} passed
     * (negative: no timeout). Returns a bit mask: bit {@code i} set when {@code fds[i]} is ready (at most 64 fds).
     * EINTR is retried with the same timeout.
     */
    public static long readable(int timeoutMillis, NativeFd... fds) throws IOException {
        NativeAccess.require();
        if (fds.length == 0 || fds.length > 64) {
            throw new IllegalArgumentException("poll needs 1 to 64 descriptors, got " + fds.length);
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment set = arena.allocate(LinuxIpc.POLLFD, fds.length);
            long size = LinuxIpc.POLLFD.byteSize();
            for (int i = 0; i < fds.length; i++) {
                set.set(ValueLayout.JAVA_INT, i * size, fds[i].value());
                set.set(ValueLayout.JAVA_SHORT, i * size + LinuxIpc.POLLFD_EVENTS, LinuxIpc.POLLIN);
            }
            int r;
            do {
                r = LinuxIpc.poll(set, fds.length, timeoutMillis);
            } while (r == -Linux.EINTR);
            if (r < 0) {
                throw new NativeIOException("poll", Path.of(fds[0].description()), -1, -1, -r);
            }
            long ready = 0;
            for (int i = 0; i < fds.length && r > 0; i++) {
                short revents = set.get(ValueLayout.JAVA_SHORT, i * size + LinuxIpc.POLLFD_REVENTS);
                if ((revents & LinuxIpc.POLLNVAL) != 0) {
                    throw new NativeIOException("poll", Path.of(fds[i].description()), -1, -1, LinuxIpc.EBADF);
                }
                if (revents != 0) {
                    ready |= 1L << i;
                }
            }
            return ready;
        }
    }
}
