package io.jblk.qcow2.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Entries of a refcount block: {@code 1 << refcountOrder} bits each. Widths of a byte or more are big-endian
 * integers; narrower ones are packed LSB-first inside each byte (entry 0 of a 1-bit block is {@code byte0 & 1}).
 */
public record RefcountBlockLayout(int refcountOrder, int clusterBits) {
    private static final VarHandle SHORT = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle INT = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    public int bits() {
        return 1 << refcountOrder;
    }

    /** Refcount entries per block (= clusters one block describes). */
    public long entriesPerBlock() {
        return (8L << clusterBits) >>> refcountOrder;
    }

    /** Largest refcount the width can hold (unsigned; 64-bit refcounts are capped at Long.MAX_VALUE). */
    public long maxRefcount() {
        return bits() == 64 ? Long.MAX_VALUE : (1L << bits()) - 1;
    }

    public long get(byte[] block, int index) {
        return switch (refcountOrder) {
            case 0, 1, 2 -> {
                int bits = bits();
                int bit = index * bits;
                yield (block[bit >>> 3] >>> (bit & 7)) & ((1 << bits) - 1);
            }
            case 3 -> block[index] & 0xffL;
            case 4 -> (short) SHORT.get(block, index * 2) & 0xffffL;
            case 5 -> (int) INT.get(block, index * 4) & 0xffff_ffffL;
            default -> (long) LONG.get(block, index * 8);
        };
    }

    public void set(byte[] block, int index, long value) {
        if (value < 0 || value > maxRefcount()) {
            throw new IllegalArgumentException("refcount " + value + " does not fit in " + bits() + " bits");
        }
        switch (refcountOrder) {
            case 0, 1, 2 -> {
                int bits = bits();
                int bit = index * bits;
                int mask = ((1 << bits) - 1) << (bit & 7);
                block[bit >>> 3] = (byte) ((block[bit >>> 3] & ~mask) | ((int) value << (bit & 7)));
            }
            case 3 -> block[index] = (byte) value;
            case 4 -> SHORT.set(block, index * 2, (short) value);
            case 5 -> INT.set(block, index * 4, (int) value);
            default -> LONG.set(block, index * 8, value);
        }
    }
}
