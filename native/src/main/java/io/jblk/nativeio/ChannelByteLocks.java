package io.jblk.nativeio;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;

/**
 * Byte locks for the pure-Java engine, which has no {@code fcntl}: {@link FileChannel} locks, which Linux implements
 * as POSIX record locks. Those conflict with QEMU's OFD locks across processes, but they belong to the process: the
 * kernel cannot tell two opens in this JVM apart, Java refuses overlapping locks within the JVM, and closing any
 * descriptor of the file drops them all. So this class keeps one kernel lock per byte per file for the whole JVM, on
 * a channel of its own, counts the opens that hold each byte, answers "locked by others" within the JVM from those
 * counts, and takes the kernel locks again after a close has dropped them.
 *
 * <p>Other processes' read locks show only as a refused write lock, which needs a channel open for writing: on a
 * file this process may only read, the engine cannot see other processes' locks (it still takes its own).
 */
final class ChannelByteLocks implements PermissionLock.ByteLocks {
    private static final Map<Object, FileLocks> FILES = new HashMap<>(); // guarded by itself

    /** The JVM's locks on one file. */
    private static final class FileLocks {
        final Object key;
        final FileChannel channel;
        final boolean canProbe;
        final Map<Long, FileLock> kernel = new HashMap<>();
        final Map<Long, Integer> holders = new HashMap<>();
        int opens;

        FileLocks(Object key, FileChannel channel, boolean canProbe) {
            this.key = key;
            this.channel = channel;
            this.canProbe = canProbe;
        }

        /** Takes again every kernel lock: a close of any descriptor of the file has dropped them. */
        void reassert() throws IOException {
            for (Map.Entry<Long, FileLock> e : kernel.entrySet()) {
                e.getValue().release();
                // Only a write lock could refuse a read lock, and QEMU takes none; a refusal leaves the byte unlocked.
                FileLock again = channel.tryLock(e.getKey(), 1, true);
                if (again != null) {
                    e.setValue(again);
                }
            }
        }
    }

    private final Path path;
    private final FileLocks file;
    private final Set<Long> mine = new HashSet<>();

    private ChannelByteLocks(Path path, FileLocks file) {
        this.path = path;
        this.file = file;
    }

    private static Object keyOf(Path path) throws IOException {
        Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
        return key != null ? key : path.toRealPath();
    }

    /**
     * Takes the JVM's locks on {@code path} again after an unlocked open of it closed its descriptor, which dropped
     * them in the kernel.
     */
    static void afterUnlockedClose(Path path) throws IOException {
        synchronized (FILES) {
            if (FILES.isEmpty()) {
                return;
            }
            Object key;
            try {
                key = keyOf(path);
            } catch (IOException e) {
                return; // gone: nobody can hold locks on it through this path any more
            }
            FileLocks f = FILES.get(key);
            if (f != null) {
                f.reassert();
            }
        }
    }

    /** The byte locks of a new open of {@code path} (already opened by the caller, so it exists). */
    static ChannelByteLocks open(Path path) throws IOException {
        Object key = keyOf(path);
        synchronized (FILES) {
            FileLocks f = FILES.get(key);
            if (f == null) {
                FileChannel channel;
                boolean canProbe;
                try {
                    channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
                    canProbe = true;
                } catch (IOException e) {
                    channel = FileChannel.open(path, StandardOpenOption.READ);
                    canProbe = false;
                }
                f = new FileLocks(key, channel, canProbe);
                FILES.put(key, f);
            }
            f.opens++;
            return new ChannelByteLocks(path, f);
        }
    }

    @Override
    public void lock(long offset) throws IOException {
        synchronized (FILES) {
            if (!mine.add(offset)) {
                return;
            }
            if (file.holders.merge(offset, 1, Integer::sum) == 1) {
                FileLock l = file.channel.tryLock(offset, 1, true);
                if (l == null) {
                    mine.remove(offset);
                    file.holders.remove(offset);
                    throw new IOException("Failed to lock byte " + offset + " of " + path
                            + ": another process holds a write lock on it");
                }
                file.kernel.put(offset, l);
            }
        }
    }

    @Override
    public void unlock(long offset) throws IOException {
        synchronized (FILES) {
            if (!mine.remove(offset)) {
                return;
            }
            if (file.holders.merge(offset, -1, Integer::sum) == 0) {
                file.holders.remove(offset);
                file.kernel.remove(offset).release();
            }
        }
    }

    @Override
    public boolean lockedByOthers(long offset) throws IOException {
        synchronized (FILES) {
            int inJvm = file.holders.getOrDefault(offset, 0) - (mine.contains(offset) ? 1 : 0);
            if (inJvm > 0) {
                return true;
            }
            if (!file.canProbe) {
                return false;
            }
            // Only this open holds the byte in this JVM, or nobody does: let go of it, see whether a write lock
            // would be granted (then no other process holds any lock on it), and take it back.
            FileLock own = file.kernel.remove(offset);
            if (own != null) {
                own.release();
            }
            try {
                FileLock probe = file.channel.tryLock(offset, 1, false);
                if (probe == null) {
                    return true;
                }
                probe.release();
                return false;
            } finally {
                FileLock again = own == null ? null : file.channel.tryLock(offset, 1, true);
                if (again != null) {
                    file.kernel.put(offset, again);
                }
            }
        }
    }

    /**
     * Closes {@code ioChannel}, this open's channel to the file, and gives up this open's locks. Closing a
     * descriptor drops every POSIX lock the process has on the file, so the locks other opens still hold are taken
     * again.
     */
    void close(FileChannel ioChannel) throws IOException {
        synchronized (FILES) {
            try {
                for (Long offset : Set.copyOf(mine)) {
                    unlock(offset);
                }
            } finally {
                ioChannel.close();
                if (--file.opens == 0) {
                    FILES.remove(file.key);
                    file.channel.close();
                } else {
                    file.reassert();
                }
            }
        }
    }
}
