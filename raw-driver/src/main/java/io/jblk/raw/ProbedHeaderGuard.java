package io.jblk.raw;

import io.jblk.api.BlockDriver;
import io.jblk.api.BlockDrivers;
import io.jblk.api.NotPermittedException;
import io.jblk.nativeio.HostFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * QEMU's rule for a raw image whose format was probed: a write, write-zeroes or discard that touches its first 512
 * bytes (what probing reads) is refused when the image would afterwards probe as another format. Otherwise a guest
 * could write, say, a qcow2 header naming any host file as its backing file, and the next probed open would serve
 * that file to it.
 *
 * <p>The check looks at the first 512 bytes as they would be after the request (the current bytes with the
 * request's laid over them) and asks every installed driver, with the rule {@link BlockDrivers#probe} follows.
 * Requests touching those bytes run one at a time under a lock, from the check until their data is in the file, so
 * that two writes cannot each pass alone and together assemble a header.
 */
final class ProbedHeaderGuard {
    private final Path path;
    private final long deviceSize;
    private final List<BlockDriver> drivers = BlockDrivers.installed();
    private final ReentrantLock lock = new ReentrantLock();

    ProbedHeaderGuard(Path path, long deviceSize) {
        this.path = path;
        this.deviceSize = deviceSize;
    }

    /** Whether a request of {@code length} bytes at {@code offset} touches the bytes probing reads. */
    boolean touches(long offset, long length) {
        return length > 0 && offset < BlockDrivers.PROBE_BYTES;
    }

    /** A modification of the file the guard lets run once it has passed the check. */
    @FunctionalInterface
    interface Modification {
        void run() throws IOException;
    }

    /**
     * Runs {@code modification} of {@code [offset, offset+length)} if the file would still probe as raw afterwards;
     * {@code data} is what it writes, or null for zeros (write-zeroes, discard).
     */
    void guard(HostFile file, long offset, long length, MemorySegment data, Modification modification)
            throws IOException {
        lock.lock();
        try {
            check(file, offset, length, data);
            modification.run();
        } finally {
            lock.unlock();
        }
    }

    private void check(HostFile file, long offset, long length, MemorySegment data) throws IOException {
        int probed = (int) Math.min(BlockDrivers.PROBE_BYTES, deviceSize);
        byte[] after = new byte[probed];
        file.readBlocking(0, MemorySegment.ofArray(after));
        int end = (int) Math.min(probed, offset + length);
        if (data == null) {
            java.util.Arrays.fill(after, (int) offset, end, (byte) 0);
        } else {
            MemorySegment.copy(data, 0, MemorySegment.ofArray(after), offset, end - offset);
        }
        BlockDriver verdict = BlockDrivers.bestMatch(drivers, MemorySegment.ofArray(after).asReadOnly(), path);
        if (verdict != null && !RawDriver.FORMAT.equals(verdict.formatName())) {
            throw new NotPermittedException("write to the first " + BlockDrivers.PROBE_BYTES + " bytes of " + path
                    + " refused: the image's format was probed as raw, and afterwards it would probe as "
                    + verdict.formatName() + " (open it with the format 'raw' given explicitly to allow it)");
        }
    }
}
