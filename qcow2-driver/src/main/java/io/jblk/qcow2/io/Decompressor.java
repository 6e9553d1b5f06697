package io.jblk.qcow2.io;

import io.jblk.api.CorruptImageException;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.Qcow2Header;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
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
        try (InputStream z = new io.airlift.compress.v3.zstd.ZstdInputStream(new ByteArrayInputStream(in))) {
            int produced = 0;
            while (produced < out.length) {
                int n = z.read(out, produced, out.length - produced);
                if (n < 0) {
                    break;
                }
                produced += n;
            }
            return produced;
        } catch (RuntimeException e) {
            throw new CorruptImageException("compressed cluster is not valid zstd data: " + e.getMessage());
        }
    }
}
