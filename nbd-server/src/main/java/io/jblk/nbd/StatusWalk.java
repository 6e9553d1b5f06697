package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;

import java.io.IOException;
import java.util.List;

/**
 * Asks the device for block status a batch of extents at a time, for BLOCK_STATUS and CACHE, so that the work of one
 * request is bounded however fragmented the image is: at most {@link #MAX_EXTENTS} extents per request (the
 * protocol lets a reply describe less than was asked; the client asks again from where it ends), and the request
 * stops between batches once its client is gone.
 */
final class StatusWalk {
    /** Driver extents one request may cost; also the cap on descriptors per context in a reply. */
    static final int MAX_EXTENTS = 1 << 16;
    /** Extents asked of the device at once: small enough that a departed client is noticed quickly. */
    static final int BATCH = 4096;

    /** What the walk does with each extent; false stops it (the extent is not taken). */
    interface Sink {
        boolean take(Extent clipped);
    }

    /** Thrown between batches when the client that asked has gone. */
    static final class ClientGone extends IOException {
        ClientGone() {
            super("the client disconnected; request abandoned");
        }
    }

    /** Whether the requesting client is still there to read the answer. */
    interface Liveness {
        boolean clientGone();
    }

    private final BlockDevice device;
    private final Liveness liveness;

    StatusWalk(BlockDevice device, Liveness liveness) {
        this.device = device;
        this.liveness = liveness;
    }

    /**
     * Feeds the extents of {@code [offset, offset + length)} in order to {@code sink}, clipped to the range, until the
     * range is covered, the sink refuses one, or {@link #MAX_EXTENTS} were used. Returns where the walk stopped.
     *
     * @param batch extents asked of the device at once (at most {@link #BATCH})
     */
    long walk(long offset, long length, int batch, Sink sink) throws IOException {
        long end = offset + length;
        long pos = offset;
        int budget = MAX_EXTENTS;
        while (pos < end && budget > 0) {
            if (liveness.clientGone()) {
                throw new ClientGone();
            }
            List<Extent> extents = device.blockStatusBlocking(pos, end - pos, Math.min(budget, batch));
            if (extents.isEmpty()) {
                break;
            }
            budget -= extents.size();
            for (Extent e : extents) {
                if (e.offset() != pos) {
                    throw new IOException("the driver's block status is not contiguous: an extent at " + e.offset()
                            + " where " + pos + " was expected");
                }
                Extent clipped = e.end() <= end ? e : e.slice(e.offset(), end - e.offset());
                if (!sink.take(clipped)) {
                    return pos;
                }
                pos = clipped.end();
            }
        }
        return pos;
    }
}
