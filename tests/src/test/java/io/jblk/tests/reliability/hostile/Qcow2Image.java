package io.jblk.tests.reliability.hostile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A generated qcow2 image: its bytes and where the builder put each structure, so mutations can aim.
 *
 * @param dataOffsets       host offset of each plain data cluster (guest clusters 0, 1, …)
 * @param compressedOffsets host offset of each compressed payload (guest clusters after the plain ones)
 * @param guest             the guest content the image must read as (virtual size bytes)
 */
public record Qcow2Image(byte[] bytes, int clusterBits, boolean extendedL2, long refTableOffset,
                         long refBlockOffset, long l1Offset, long l2Offset, List<Long> dataOffsets,
                         List<Long> compressedOffsets, List<Integer> compressedLengths, long snapshotTableOffset,
                         long extensionsOffset, byte[] guest) {

    public int clusterSize() {
        return 1 << clusterBits;
    }

    /** Bytes per L2 entry: 16 with extended L2 (descriptor + subcluster bitmap), else 8. */
    public int l2EntrySize() {
        return extendedL2 ? 16 : 8;
    }

    /** A copy of the bytes to mutate. */
    public byte[] copyBytes() {
        return bytes.clone();
    }

    public Path writeTo(Path path) throws IOException {
        Files.write(path, bytes);
        return path;
    }
}
