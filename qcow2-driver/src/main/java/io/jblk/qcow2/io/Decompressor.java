package io.jblk.qcow2.io;

import io.jblk.api.CorruptImageException;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.Qcow2Header;

import java.io.IOException;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Decompresses one cluster. QEMU's deflate is raw (no zlib header); zstd clusters are one frame. Both stop as soon as
 * a whole cluster has come out, because the stored length is rounded up to sectors and may run into other data.
 */
final class Decompressor {
    private Decompressor() {
    }

    static byte[] decompress(int compressionType, byte[] compressed, int clusterSize, CompressedDescriptor where)
            throws IOException {
        byte[] out = new byte[clusterSize];
        int produced = compressionType == Qcow2Header.COMPRESSION_ZSTD ? zstd(compressed, out) : inflate(compressed, out);
        if (produced != clusterSize) {
            throw new CorruptImageException("compressed cluster at host offset 0x" + Long.toHexString(where.hostOffset())
                    + " decompressed to " + produced + " bytes, expected " + clusterSize);
        }
        return out;
    }

    private static int inflate(byte[] in, byte[] out) throws CorruptImageException {
        Inflater inflater = new Inflater(true);
        try {
            inflater.setInput(in);
            int produced = 0;
            while (produced < out.length) {
                int n = inflater.inflate(out, produced, out.length - produced);
                if (n == 0 && (inflater.finished() || inflater.needsInput() || inflater.needsDictionary())) {
                    break;
                }
                produced += n;
            }
            return produced;
        } catch (DataFormatException e) {
            throw new CorruptImageException("compressed cluster is not valid deflate data: " + e.getMessage());
        } finally {
            inflater.end();
        }
    }

    private static int zstd(byte[] in, byte[] out) throws IOException {
        // The stored length is rounded up to sectors, so other data follows the frame; the streaming decoder would
        // try to parse it as a second frame. Decode exactly one frame, as QEMU does.
        int frame = zstdFrameLength(in);
        try {
            return new io.airlift.compress.v3.zstd.ZstdJavaDecompressor().decompress(in, 0, frame, out, 0, out.length);
        } catch (RuntimeException e) {
            throw new CorruptImageException("compressed cluster is not valid zstd data: " + e.getMessage());
        }
    }

    /** Length of the zstd frame at the start of {@code in} (RFC 8878 §3.1.1: header, blocks, optional checksum). */
    static int zstdFrameLength(byte[] in) throws CorruptImageException {
        if (in.length < 5 || (in[0] & 0xff) != 0x28 || (in[1] & 0xff) != 0xb5 || (in[2] & 0xff) != 0x2f
                || (in[3] & 0xff) != 0xfd) {
            throw new CorruptImageException("compressed cluster is not valid zstd data: no frame magic");
        }
        int descriptor = in[4] & 0xff;
        boolean singleSegment = (descriptor & 0x20) != 0;
        int fcsFlag = descriptor >>> 6;
        int pos = 5 + (singleSegment ? 0 : 1) + new int[] {0, 1, 2, 4}[descriptor & 3]
                + (fcsFlag == 0 ? (singleSegment ? 1 : 0) : 1 << fcsFlag);
        boolean last = false;
        while (!last) {
            if (pos + 3 > in.length) {
                throw new CorruptImageException("compressed cluster is not valid zstd data: frame runs past the "
                        + in.length + " stored bytes");
            }
            int header = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8 | (in[pos + 2] & 0xff) << 16;
            last = (header & 1) != 0;
            int type = (header >>> 1) & 3;
            int size = header >>> 3;
            if (type == 3) {
                throw new CorruptImageException("compressed cluster is not valid zstd data: reserved block type");
            }
            pos += 3 + (type == 1 ? 1 : size);
        }
        pos += (descriptor & 4) != 0 ? 4 : 0;
        if (pos > in.length) {
            throw new CorruptImageException("compressed cluster is not valid zstd data: frame runs past the "
                    + in.length + " stored bytes");
        }
        return pos;
    }
}
