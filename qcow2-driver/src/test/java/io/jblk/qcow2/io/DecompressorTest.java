package io.jblk.qcow2.io;

import io.jblk.api.CorruptImageException;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.Qcow2Header;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DecompressorTest {
    private static byte[] zstdFrame(byte[] data) {
        var compressor = new io.airlift.compress.v3.zstd.ZstdJavaCompressor();
        byte[] out = new byte[compressor.maxCompressedLength(data.length)];
        int n = compressor.compress(data, 0, data.length, out, 0, out.length);
        return Arrays.copyOf(out, n);
    }

    private static byte[] cluster(int size, long seed) {
        byte[] b = new byte[size];
        Random r = new Random(seed);
        for (int i = 0; i < size; i += 64) {
            Arrays.fill(b, i, Math.min(size, i + 64), (byte) r.nextInt(4));
        }
        return b;
    }

    @Test
    void zstdFrameFollowedByOtherSectorDataDecompressesOnlyTheFrame() throws Exception {
        byte[] data = cluster(65536, 1);
        byte[] frame = zstdFrame(data);
        // QEMU reads whole sectors: the frame is followed by zeros or by the next compressed cluster.
        for (byte[] tail : new byte[][] {new byte[400], zstdFrame(cluster(65536, 2))}) {
            byte[] stored = Arrays.copyOf(frame, frame.length + tail.length);
            System.arraycopy(tail, 0, stored, frame.length, tail.length);
            assertEquals(frame.length, Decompressor.zstdFrameLength(stored));
            assertArrayEquals(data, Decompressor.decompress(Qcow2Header.COMPRESSION_ZSTD, stored, 65536,
                    new CompressedDescriptor(0x50000, 0)));
        }
    }

    @Test
    void zstdFrameCutShortIsCorruption() {
        byte[] frame = zstdFrame(cluster(65536, 3));
        byte[] cut = Arrays.copyOf(frame, frame.length / 2);
        assertThrows(CorruptImageException.class, () -> Decompressor.zstdFrameLength(cut));
        assertThrows(CorruptImageException.class, () -> Decompressor.zstdFrameLength(new byte[16]));
    }
}
