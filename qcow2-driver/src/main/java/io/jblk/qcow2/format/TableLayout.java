package io.jblk.qcow2.format;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Big-endian 64-bit table words as stored in L1 tables, L2 tables and the refcount table, and the masks of L1 and
 * refcount-table entries. L2 entry bits are {@link L2Entry}'s business.
 */
public final class TableLayout {
    public static final long L1_OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;
    public static final long L1_RESERVED_MASK = 0x7f00_0000_0000_01ffL;
    public static final long REFTABLE_OFFSET_MASK = 0xffff_ffff_ffff_fe00L;
    public static final long REFTABLE_RESERVED_MASK = 0x1ffL;
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);

    private TableLayout() {
    }

    public static long word(byte[] table, int index) {
        return (long) LONG.get(table, index * 8);
    }

    public static void setWord(byte[] table, int index, long value) {
        LONG.set(table, index * 8, value);
    }

    public static long[] words(byte[] table, int count) {
        long[] out = new long[count];
        for (int i = 0; i < count; i++) {
            out[i] = word(table, i);
        }
        return out;
    }

    public static byte[] bytes(long[] words) {
        byte[] out = new byte[words.length * 8];
        for (int i = 0; i < words.length; i++) {
            setWord(out, i, words[i]);
        }
        return out;
    }

    /** Reads the L2 entry at {@code index} of an L2 table (or slice) in bytes. */
    public static L2Entry l2Entry(byte[] slice, int index, boolean extendedL2) {
        return extendedL2 ? new L2Entry(word(slice, index * 2), word(slice, index * 2 + 1))
                : new L2Entry(word(slice, index), 0);
    }

    public static void setL2Entry(byte[] slice, int index, boolean extendedL2, L2Entry entry) {
        if (extendedL2) {
            setWord(slice, index * 2, entry.word());
            setWord(slice, index * 2 + 1, entry.bitmap());
        } else {
            setWord(slice, index, entry.word());
        }
    }
}
