package io.jblk.vhost;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * One vring's region of the in-flight log a back-end shares with its front-end (INFLIGHT_SHMFD, the spec's
 * "Inflight I/O tracking", split virtqueue layout). The front-end keeps the memory across back-end restarts, so a
 * new back-end learns which requests its predecessor took from the ring and never completed, and runs them again.
 *
 * <p>Layout (QueueRegionSplit): {@code features u64, version u16, desc_num u16, last_batch_head u16, used_idx u16},
 * then per descriptor head a DescStateSplit {@code inflight u8, padding[5], next u16, counter u64}.
 *
 * <p>Protocol, in the order the spec gives: a head taken from the avail ring gets the next counter and
 * {@code inflight = 1}; heads placed in the used ring are linked into the last batch; after the used index is
 * published, their {@code inflight} is cleared and {@code used_idx} records the published index. A crash between
 * the two leaves {@code used_idx} behind the ring's, which {@link #recover} repairs by clearing that batch.
 *
 * <p>Thread contract: {@link #fetched} on the ring's worker, {@link #completed} and {@link #published} under the
 * ring's publication lock; {@link #recover} before the ring starts.
 */
final class InflightLog {
    static final int HEADER = 16;
    static final int DESC_STATE = 16;
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final long VERSION = 8;
    private static final long DESC_NUM = 10;
    private static final long LAST_BATCH_HEAD = 12;
    private static final long USED_IDX = 14;

    private final MemorySegment region;
    private final int capacity;
    private long counter;
    private final List<Integer> batch = new ArrayList<>();

    /** {@code region} holds the header and {@code capacity} descriptor states. */
    InflightLog(MemorySegment region, int capacity) {
        if (region.byteSize() < regionSize(capacity)) {
            throw new IllegalArgumentException("in-flight region of " + region.byteSize() + " bytes is too small for "
                    + capacity + " descriptors");
        }
        this.region = region;
        this.capacity = capacity;
    }

    /** Bytes one queue's region takes: header plus states, rounded to 64 as libvhost-user lays them out. */
    static long regionSize(int queueSize) {
        return (HEADER + (long) DESC_STATE * queueSize + 63) & ~63L;
    }

    private long desc(int head) {
        return HEADER + (long) DESC_STATE * head;
    }

    /**
     * Prepares the region for a ring of {@code ringSize} whose used index in guest memory is {@code ringUsedIdx}
     * and returns the heads left in flight by a previous back-end, oldest first. A fresh (version 0) region, or one
     * laid out for another ring size, is initialised and yields nothing.
     */
    int[] recover(int ringUsedIdx, int ringSize) {
        if (ringSize > capacity) {
            throw new IllegalArgumentException("ring of " + ringSize + " descriptors does not fit the in-flight"
                    + " region of " + capacity);
        }
        int version = Short.toUnsignedInt(region.get(U16, VERSION));
        int descNum = Short.toUnsignedInt(region.get(U16, DESC_NUM));
        if (version != 1 || descNum != ringSize) {
            region.asSlice(0, regionSize(ringSize)).fill((byte) 0);
            region.set(U16, DESC_NUM, (short) ringSize);
            region.set(U16, USED_IDX, (short) ringUsedIdx);
            region.set(U16, VERSION, (short) 1);
            counter = 0;
            return new int[0];
        }
        int logged = Short.toUnsignedInt(region.get(U16, USED_IDX));
        if (logged != ringUsedIdx) {
            // The used index was published but the batch not yet cleared: those requests are complete.
            int batchSize = (ringUsedIdx - logged) & 0xFFFF;
            int head = Short.toUnsignedInt(region.get(U16, LAST_BATCH_HEAD));
            for (int i = 0; i < batchSize && head < ringSize; i++) {
                region.set(ValueLayout.JAVA_BYTE, desc(head), (byte) 0);
                head = Short.toUnsignedInt(region.get(U16, desc(head) + 6));
            }
            region.set(U16, USED_IDX, (short) ringUsedIdx);
        }
        List<long[]> pending = new ArrayList<>();
        long max = 0;
        for (int head = 0; head < ringSize; head++) {
            long c = region.get(U64, desc(head) + 8);
            max = Math.max(max, c);
            if (region.get(ValueLayout.JAVA_BYTE, desc(head)) != 0) {
                pending.add(new long[] {c, head});
            }
        }
        counter = max;
        pending.sort((a, b) -> Long.compare(a[0], b[0]));
        return pending.stream().mapToInt(p -> (int) p[1]).toArray();
    }

    /** {@code head} was taken from the avail ring. */
    void fetched(int head) {
        region.set(U64, desc(head) + 8, ++counter);
        region.set(ValueLayout.JAVA_BYTE, desc(head), (byte) 1);
    }

    /** {@code head} was placed in the used ring (not yet published). */
    void completed(int head) {
        region.set(U16, desc(head) + 6, region.get(U16, LAST_BATCH_HEAD));
        region.set(U16, LAST_BATCH_HEAD, (short) head);
        batch.add(head);
    }

    /** The used index {@code usedIdx} is visible to the guest: the batch is no longer in flight. */
    void published(int usedIdx) {
        for (int head : batch) {
            region.set(ValueLayout.JAVA_BYTE, desc(head), (byte) 0);
        }
        batch.clear();
        region.set(U16, USED_IDX, (short) usedIdx);
    }
}
