package io.jblk.qcow2.io;

/**
 * A raw-deflate (RFC 1951) encoder limited to a 4 KiB window, with fixed Huffman codes.
 *
 * <p>Why hand-written: QEMU inflates compressed clusters with a 4 KiB window ({@code windowBits = -12}), and
 * {@link java.util.zip.Deflater} always uses 32 KiB, so its output may refer further back than QEMU can follow
 * ("invalid distance too far back"). This encoder never emits a distance above 4096. Greedy LZ77 over hash chains
 * gives most of zlib's ratio on disk data for a fraction of the code.
 */
final class Deflate4k {
    private static final int WINDOW = 4096;
    private static final int MIN_MATCH = 3;
    private static final int MAX_MATCH = 258;
    private static final int HASH_BITS = 14;
    private static final int MAX_CHAIN = 32;
    private static final int[] LENGTH_BASE = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59,
            67, 83, 99, 115, 131, 163, 195, 227, 258};
    private static final int[] LENGTH_EXTRA = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4,
            5, 5, 5, 5, 0};
    private static final int[] DIST_BASE = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513,
            769, 1025, 1537, 2049, 3073};
    private static final int[] DIST_EXTRA = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10};

    private Deflate4k() {
    }

    /** Compresses {@code in} into one final fixed-Huffman block. */
    static byte[] compress(byte[] in) {
        BitWriter out = new BitWriter(in.length / 2 + 64);
        out.bits(1, 1); // BFINAL
        out.bits(1, 2); // BTYPE = 01, fixed Huffman
        int[] head = new int[1 << HASH_BITS];
        java.util.Arrays.fill(head, -1);
        int[] prev = new int[in.length];
        int pos = 0;
        while (pos < in.length) {
            int bestLength = 0;
            int bestDistance = 0;
            if (pos + MIN_MATCH <= in.length) {
                int h = hash(in, pos);
                int candidate = head[h];
                int chain = 0;
                while (candidate >= 0 && pos - candidate <= WINDOW && chain++ < MAX_CHAIN) {
                    int length = matchLength(in, candidate, pos);
                    if (length > bestLength) {
                        bestLength = length;
                        bestDistance = pos - candidate;
                        if (length == MAX_MATCH) {
                            break;
                        }
                    }
                    candidate = prev[candidate];
                }
            }
            int advance;
            if (bestLength >= MIN_MATCH) {
                writeLength(out, bestLength);
                writeDistance(out, bestDistance);
                advance = bestLength;
            } else {
                writeLiteral(out, in[pos] & 0xff);
                advance = 1;
            }
            for (int i = 0; i < advance; i++, pos++) {
                if (pos + MIN_MATCH <= in.length) {
                    int h = hash(in, pos);
                    prev[pos] = head[h];
                    head[h] = pos;
                }
            }
        }
        writeLiteral(out, 256); // end of block
        return out.finish();
    }

    private static int hash(byte[] in, int pos) {
        int v = (in[pos] & 0xff) << 16 | (in[pos + 1] & 0xff) << 8 | (in[pos + 2] & 0xff);
        return (v * 0x9E3779B1) >>> (32 - HASH_BITS);
    }

    private static int matchLength(byte[] in, int a, int b) {
        int max = Math.min(MAX_MATCH, in.length - b);
        int n = 0;
        while (n < max && in[a + n] == in[b + n]) {
            n++;
        }
        return n;
    }

    /** Fixed literal/length code of symbol {@code s} (RFC 1951 §3.2.6), written most significant bit first. */
    private static void writeLiteral(BitWriter out, int s) {
        if (s < 144) {
            out.huffman(0x30 + s, 8);
        } else if (s < 256) {
            out.huffman(0x190 + s - 144, 9);
        } else if (s < 280) {
            out.huffman(s - 256, 7);
        } else {
            out.huffman(0xc0 + s - 280, 8);
        }
    }

    private static void writeLength(BitWriter out, int length) {
        int code = LENGTH_BASE.length - 1;
        while (LENGTH_BASE[code] > length) {
            code--;
        }
        writeLiteral(out, 257 + code);
        out.bits(length - LENGTH_BASE[code], LENGTH_EXTRA[code]);
    }

    private static void writeDistance(BitWriter out, int distance) {
        int code = DIST_BASE.length - 1;
        while (DIST_BASE[code] > distance) {
            code--;
        }
        out.huffman(code, 5);
        out.bits(distance - DIST_BASE[code], DIST_EXTRA[code]);
    }

    /** Deflate's bit order: values LSB first, Huffman codes MSB first. */
    private static final class BitWriter {
        private byte[] buf;
        private int size;
        private long acc;
        private int count;

        BitWriter(int capacity) {
            buf = new byte[capacity];
        }

        void bits(int value, int n) {
            acc |= (long) value << count;
            count += n;
            while (count >= 8) {
                put((byte) acc);
                acc >>>= 8;
                count -= 8;
            }
        }

        void huffman(int code, int n) {
            bits(Integer.reverse(code) >>> (32 - n), n);
        }

        private void put(byte b) {
            if (size == buf.length) {
                buf = java.util.Arrays.copyOf(buf, buf.length * 2);
            }
            buf[size++] = b;
        }

        byte[] finish() {
            if (count > 0) {
                put((byte) acc);
                acc = 0;
                count = 0;
            }
            return java.util.Arrays.copyOf(buf, size);
        }
    }
}
