package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/** Walks an image's block status in bounded chunks and merges runs the way {@code qemu-img map} does. */
final class ExtentMap {
    /** Block status is asked for at most this much at a time, so huge images never build huge lists. */
    private static final long CHUNK = 1L << 30;

    private ExtentMap() {
    }

    /** Feeds {@code sink} the merged extents of {@code [start, start+length)} in ascending order. */
    static void walk(BlockDevice device, long start, long length, Consumer<Extent> sink) throws IOException {
        // start + length may overflow (map -l 9223372036854775807): compare against what is left instead
        long end = start >= device.size() ? start : length > device.size() - start ? device.size() : start + length;
        Extent pending = null;
        long chunk = CHUNK;
        for (long at = start; at < end; ) {
            long len = Math.min(chunk, end - at);
            List<Extent> extents = Await.get(device.blockStatus(at, len), "block status at offset " + at);
            if (extents.isEmpty()) {
                throw new IOException("block status at offset " + at + " returned no extents");
            }
            chunk = nextChunk(chunk, extents);
            for (Extent e : extents) {
                if (e.offset() != at) {
                    throw new IOException("block status skipped from offset " + at + " to " + e.offset());
                }
                at = e.end();
                if (pending != null && mergeable(pending, e)) {
                    pending = pending.mergedWith(e);
                } else {
                    if (pending != null) {
                        sink.accept(pending);
                    }
                    pending = e;
                }
            }
        }
        if (pending != null) {
            sink.accept(pending);
        }
    }

    /**
     * The length to ask for next: twice as much after an answer of one extent (a sparse stretch: a 1 PiB image is a
     * million 1 GiB questions otherwise), back to {@link #CHUNK} as soon as there is more than one. Only an answer
     * of one extent grows it, so the next answer's length is still bounded by what the image holds.
     */
    static long nextChunk(long chunk, List<Extent> answer) {
        return answer.size() == 1 ? Math.min(chunk * 2, 1L << 62) : CHUNK;
    }

    static List<Extent> all(BlockDevice device) throws IOException {
        List<Extent> list = new ArrayList<>();
        walk(device, 0, device.size(), list::add);
        return list;
    }

    /** qemu-img map's entry_mergeable: same flags and depth, and host offsets continuing each other. */
    static boolean mergeable(Extent curr, Extent next) {
        if (next.offset() != curr.end() || curr.zero() != next.zero() || curr.data() != next.data()
                || curr.depth() != next.depth() || curr.present() != next.present()
                || curr.hasHostOffset() != next.hasHostOffset()) {
            return false;
        }
        return !curr.hasHostOffset() || curr.hostOffset() + curr.length() == next.hostOffset();
    }
}
