package io.jblk.tests.reliability.hostile;

/** Big-endian pokes into an image under construction; qcow2 stores every integer big-endian. */
final class Bytes {
    private Bytes() {
    }

    static void put(byte[] image, long offset, int width, long value) {
        for (int i = 0; i < width; i++) {
            image[(int) offset + i] = (byte) (value >>> (8 * (width - 1 - i)));
        }
    }

    static long get(byte[] image, long offset, int width) {
        long v = 0;
        for (int i = 0; i < width; i++) {
            v = (v << 8) | (image[(int) offset + i] & 0xff);
        }
        return v;
    }

    static void put(byte[] image, HeaderField field, long value) {
        put(image, field.offset, field.width, value);
    }
}
