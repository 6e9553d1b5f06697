package io.jblk.nativeio;

import java.util.concurrent.Semaphore;

/**
 * Serialises read-modify-write of partial O_DIRECT blocks: two unaligned writes into different bytes of one block
 * would otherwise each write back the other's stale copy. Striped by block index; semaphores rather than locks
 * because the holder is not necessarily the thread that releases. Only the partial edge blocks of a request are
 * locked, always in stripe order, so two requests cannot deadlock.
 */
final class BlockLocks {
    private static final int STRIPES = 256;

    private final Semaphore[] stripes = new Semaphore[STRIPES];
    private final int blockSize;

    BlockLocks(int blockSize) {
        this.blockSize = blockSize;
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Semaphore(1);
        }
    }

    /** Locks the blocks that {@code [offset, end)} covers only partly; returns what to pass to {@link #unlock}. */
    int[] lockEdges(long offset, long end) {
        int head = offset % blockSize != 0 ? stripe(offset / blockSize) : -1;
        int tail = end % blockSize != 0 ? stripe((end - 1) / blockSize) : -1;
        int[] held;
        if (head >= 0 && tail >= 0 && head != tail) {
            held = new int[] {Math.min(head, tail), Math.max(head, tail)};
        } else if (head >= 0 || tail >= 0) {
            held = new int[] {Math.max(head, tail)};
        } else {
            held = new int[0];
        }
        for (int s : held) {
            stripes[s].acquireUninterruptibly();
        }
        return held;
    }

    void unlock(int[] held) {
        for (int i = held.length - 1; i >= 0; i--) {
            stripes[held[i]].release();
        }
    }

    private static int stripe(long block) {
        long h = block * 0x9e3779b97f4a7c15L;
        return (int) (h >>> 56) & (STRIPES - 1);
    }
}
