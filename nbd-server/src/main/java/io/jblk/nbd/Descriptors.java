package io.jblk.nbd;

import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The descriptors of one BLOCK_STATUS chunk for one metadata context: consecutive runs with the same value merge,
 * and there are at most {@code limit} (1 for REQ_ONE). Lengths are 32-bit unsigned as on the wire; a request never
 * covers more than 2^32 - 1 bytes, so neither does a merged descriptor.
 */
final class Descriptors {
    private final MetaContext context;
    private final int limit;
    private int[] lengths = new int[16];
    private int[] values = new int[16];
    private int count;

    Descriptors(MetaContext context, int limit) {
        this.context = context;
        this.limit = limit;
    }

    MetaContext context() {
        return context;
    }

    /** Whether a run of {@code value} fits: it merges into the last descriptor or there is room for one more. */
    boolean canTake(int value) {
        return (count > 0 && values[count - 1] == value) || count < limit;
    }

    /** Appends a run; call only after {@link #canTake} said yes. */
    void add(long length, int value) {
        if (count > 0 && values[count - 1] == value) {
            lengths[count - 1] = (int) (Integer.toUnsignedLong(lengths[count - 1]) + length);
            return;
        }
        if (count == lengths.length) {
            int grown = Math.min(limit, count * 2);
            lengths = Arrays.copyOf(lengths, grown);
            values = Arrays.copyOf(values, grown);
        }
        lengths[count] = (int) length;
        values[count++] = value;
    }

    boolean isEmpty() {
        return count == 0;
    }

    ByteBuffer chunk(int flags, long cookie) {
        return Wire.blockStatusChunk(flags, cookie, context.id, lengths, values, count);
    }

    /** Bytes of the largest chunk a context can produce: what a BLOCK_STATUS reply may hold, per context. */
    static long maxChunkBytes() {
        return Wire.CHUNK_HEADER_SIZE + 4 + (long) StatusWalk.MAX_EXTENTS * Wire.BLOCK_STATUS_DESCRIPTOR_SIZE;
    }
}
