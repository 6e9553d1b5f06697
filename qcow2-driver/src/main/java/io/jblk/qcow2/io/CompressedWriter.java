package io.jblk.qcow2.io;

import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.nativeio.Await;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * Writes whole clusters compressed (what {@code convert -c} asks for through the {@code compress=on} open option).
 * Like QEMU: only into clusters without a host cluster, with a zero subcluster bitmap, packed by a byte cursor, and
 * stored uncompressed when compression does not make the cluster smaller.
 */
public final class CompressedWriter {
    private final Qcow2Image image;
    private final ClusterGeometry geometry;
    private final GuestWriter writer;

    public CompressedWriter(Qcow2Image image, GuestWriter writer) {
        this.image = image;
        this.geometry = image.geometry();
        this.writer = writer;
    }

    /** Writes one cluster (or the image's last, partial one) compressed; false if it must be written normally. */
    public boolean write(long cluster, MemorySegment data) throws IOException {
        byte[] plain = new byte[geometry.clusterSize()];
        MemorySegment.copy(data, ValueLayout.JAVA_BYTE, 0, plain, 0, (int) data.byteSize());
        byte[] packed = image.header().compressionType() == Qcow2Header.COMPRESSION_ZSTD ? zstd(plain)
                : Deflate4k.compress(plain);
        if (packed == null || packed.length >= plain.length) {
            return false;
        }
        long offset;
        image.lock().lock();
        try {
            L2Entry entry = writer.settledEntry(cluster);
            if (entry.isCompressed() || entry.hasHostCluster(image.hasExternalData()) || image.hasExternalData()) {
                return false;
            }
            image.l2Tables().prepareTable(cluster);
            offset = image.allocateCompressedBytes(packed.length);
        } finally {
            image.lock().unlock();
        }
        image.file().writeBlocking(offset, MemorySegment.ofArray(packed));
        image.lock().lock();
        try {
            long word = CompressedDescriptor.encode(offset, packed.length, geometry.clusterBits());
            image.setEntry(cluster, new L2Entry(word, 0));
        } finally {
            image.lock().unlock();
        }
        return true;
    }

    private static byte[] zstd(byte[] plain) {
        var compressor = new io.airlift.compress.v3.zstd.ZstdJavaCompressor();
        byte[] out = new byte[compressor.maxCompressedLength(plain.length)];
        int n = compressor.compress(plain, 0, plain.length, out, 0, out.length);
        return java.util.Arrays.copyOf(out, n);
    }
}
