package io.jblk.api.testing;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.BitSet;

/**
 * The in-memory reference a device under test is compared with: the bytes it must read back, and which bytes are
 * defined at all (after a discard a device may return zeros or the old data, so those bytes are not checked until
 * they are written again).
 */
public final class ShadowDisk {
    private final byte[] bytes;
    private final BitSet undefined = new BitSet();

    public ShadowDisk(byte[] initialContent) {
        this.bytes = initialContent.clone();
    }

    public long size() {
        return bytes.length;
    }

    public void write(long offset, byte[] data) {
        System.arraycopy(data, 0, bytes, (int) offset, data.length);
        undefined.clear((int) offset, (int) offset + data.length);
    }

    public void zero(long offset, long length) {
        Arrays.fill(bytes, (int) offset, (int) (offset + length), (byte) 0);
        undefined.clear((int) offset, (int) (offset + length));
    }

    /** The range may now read as anything the device's discard semantics allow. */
    public void forget(long offset, long length) {
        undefined.set((int) offset, (int) (offset + length));
    }

    public byte[] read(long offset, int length) {
        return Arrays.copyOfRange(bytes, (int) offset, (int) offset + length);
    }

    /**
     * The first offset in {@code [offset, offset+actual.length)} where {@code actual} differs from a defined byte,
     * or -1.
     */
    public long firstMismatch(long offset, byte[] actual) {
        for (int i = 0; i < actual.length; i++) {
            int at = (int) offset + i;
            if (!undefined.get(at) && bytes[at] != actual[i]) {
                return at;
            }
        }
        return -1;
    }

    public static byte[] toArray(MemorySegment segment) {
        return segment.toArray(ValueLayout.JAVA_BYTE);
    }
}
