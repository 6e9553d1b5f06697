package io.jblk.qcow2.io;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The backing chain as seen from the overlay: reads beyond the backing image's end are zeros, as are reads of an
 * image without backing. Counts the bytes it reads, so tests can prove a COW read only what it had to.
 */
public final class Backing {
    private final BlockDevice device;
    private final long size;
    private final AtomicLong bytesRead = new AtomicLong();

    Backing(BlockDevice device) {
        this.device = device;
        this.size = device == null ? 0 : device.size();
    }

    public static Backing of(BlockDevice device) {
        return new Backing(device);
    }

    public boolean exists() {
        return device != null;
    }

    public BlockDevice device() {
        return device;
    }

    public long bytesRead() {
        return bytesRead.get();
    }

    /**
     * The last extent the chain reported as data. Backing images are opened read-only and must not change under an
     * overlay, so the answer stays true; it saves the block-status calls (two lseeks on a raw file) that the zero
     * check of nearly every copy-on-write over a fully written backing file would otherwise make.
     */
    private volatile Extent knownData;
    private static final long STATUS_WINDOW = 64L << 20;

    /** Starts reading guest bytes {@code [offset, offset + dst.byteSize())} from the chain into {@code dst}. */
    CompletableFuture<Void> read(long offset, MemorySegment dst) {
        long inside = zeroPastEnd(offset, dst);
        return inside == 0 ? CompletableFuture.completedFuture(null) : device.read(offset, dst.asSlice(0, inside));
    }

    /** {@link #read}, on the calling thread. */
    void readBlocking(long offset, MemorySegment dst) throws IOException {
        long inside = zeroPastEnd(offset, dst);
        if (inside > 0) {
            device.readBlocking(offset, dst.asSlice(0, inside));
        }
    }

    /** Zero-fills the part of {@code dst} past the chain's end and counts the rest; yields that rest's length. */
    private long zeroPastEnd(long offset, MemorySegment dst) {
        long inside = device == null ? 0 : Math.max(0, Math.min(dst.byteSize(), size - offset));
        if (inside < dst.byteSize()) {
            dst.asSlice(inside).fill((byte) 0);
        }
        bytesRead.addAndGet(inside);
        return inside;
    }

    /** Block status of the chain below the overlay for a range the overlay leaves unallocated. */
    List<Extent> status(long offset, long length) throws IOException {
        return status(offset, length, Integer.MAX_VALUE);
    }

    /**
     * The first {@code maxExtents} extents of {@link #status(long, long)}; like the device's limited block status,
     * the answer may end before the range does.
     */
    List<Extent> status(long offset, long length, int maxExtents) throws IOException {
        List<Extent> out = new ArrayList<>();
        long inside = device == null ? 0 : Math.max(0, Math.min(length, size - offset));
        if (inside > 0) {
            List<Extent> below = maxExtents == Integer.MAX_VALUE ? Await.await(device.blockStatus(offset, inside))
                    : Await.await(device.blockStatus(offset, inside, maxExtents));
            for (Extent e : below) {
                out.add(e.deeper());
            }
            if (out.isEmpty() || out.getLast().end() < offset + inside) {
                return out; // cut short: what follows is not described
            }
        }
        if (inside < length && out.size() < maxExtents) {
            // Past the end of a shorter backing image the overlay itself answers "zero" (QEMU's block layer does so
            // before asking the backing layer), so qemu-img map reports the overlay's depth.
            out.add(new Extent(offset + inside, length - inside, false, true, false, 0, Extent.NO_OFFSET, false));
        }
        return out;
    }

    /** Whether the chain reads as zeros over the whole range (no backing, past its end, or zero extents). */
    boolean readsAsZero(long offset, long length) throws IOException {
        if (length <= 0 || device == null) {
            return true;
        }
        Extent known = knownData;
        if (known != null && offset < known.end() && known.offset() < offset + length) {
            return false;
        }
        // Ask about a wider window than the range: one answer about a long data extent serves the checks of many
        // later writes into it. A few extents at a time: a fragmented backing image must not make this cost the
        // whole window's extents.
        long end = offset + length;
        long pos = offset;
        while (pos < end) {
            List<Extent> answer = status(pos, Math.max(end - pos, STATUS_WINDOW), ZERO_CHECK_EXTENTS);
            if (answer.isEmpty()) {
                throw new IOException("the backing chain described no extents at offset " + pos);
            }
            for (Extent e : answer) {
                if (e.offset() >= end) {
                    return true;
                }
                if (!e.zero()) {
                    knownData = e;
                    return false;
                }
            }
            pos = answer.getLast().end();
        }
        return true;
    }

    /** Extents per block-status question of {@link #readsAsZero}. */
    private static final int ZERO_CHECK_EXTENTS = 64;
}
