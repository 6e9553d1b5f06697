package io.jblk.api.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * The file locks the kernel lists in {@code /proc/locks} for one file, by anyone: how tests see which image-lock
 * bytes jblk and QEMU actually hold, instead of trusting either's own account.
 */
public final class ProcLocks {
    private ProcLocks() {
    }

    /** One line of {@code /proc/locks}: the lock kind (OFDLCK, POSIX, FLOCK), READ or WRITE, and the byte range. */
    public record Lock(String kind, String type, long start, long end) {
        /** True for a lock to end of file ("EOF" in /proc/locks). */
        public boolean toEof() {
            return end == Long.MAX_VALUE;
        }
    }

    /** Every lock on {@code file}, in the order the kernel lists them. */
    public static List<Lock> on(Path file) throws IOException {
        long inode = ((Number) Files.getAttribute(file, "unix:ino")).longValue();
        long dev = ((Number) Files.getAttribute(file, "unix:dev")).longValue();
        // Userspace st_dev (glibc's encoding) -> the kernel's MAJOR:MINOR, which /proc/locks prints in hex.
        long major = ((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL);
        long minor = (dev & 0xff) | ((dev >>> 12) & ~0xffL);
        String id = String.format("%02x:%02x:%d", major, minor, inode);
        List<Lock> locks = new ArrayList<>();
        for (String line : Files.readAllLines(Path.of("/proc/locks"))) {
            // "1: OFDLCK ADVISORY  READ -1 fe:00:2149294 203 203"; blocked waiters start with "1: ->"
            String[] f = line.trim().split("\\s+");
            if (f.length < 8 || f[1].equals("->") || !f[5].equals(id)) {
                continue;
            }
            locks.add(new Lock(f[1], f[3], Long.parseLong(f[6]),
                    f[7].equals("EOF") ? Long.MAX_VALUE : Long.parseLong(f[7])));
        }
        return locks;
    }

    /**
     * The single bytes locked on {@code file}, sorted, one entry per lock and byte (two users locking byte 100 give
     * it twice); a lock to end of file counts as byte -1.
     */
    public static List<Long> bytes(Path file) throws IOException {
        List<Long> bytes = new ArrayList<>();
        for (Lock l : on(file)) {
            if (l.toEof() || l.end() - l.start() > 4096) {
                bytes.add(-1L);
                continue;
            }
            for (long b = l.start(); b <= l.end(); b++) {
                bytes.add(b);
            }
        }
        Collections.sort(bytes);
        return bytes;
    }
}
