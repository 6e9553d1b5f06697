package io.jblk.tests.reliability.fuzz;

import io.jblk.api.BlockDevice;
import io.jblk.api.ImageFormatException;
import io.jblk.api.OpenOptions;
import io.jblk.api.UnsupportedFeatureException;
import io.jblk.qcow2.Qcow2Driver;
import io.jblk.qcow2.format.L2Entry;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.format.SubclusterType;
import io.jblk.tests.reliability.hostile.Qcow2Image;
import io.jblk.tests.reliability.hostile.Qcow2ImageBuilder;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * The fuzz targets, shared by the Jazzer {@code @FuzzTest}s and the seeded mutation run of the normal build. A
 * target returns normally for every input it handles correctly (including typed rejections) and throws
 * {@link AssertionError} — or lets an unexpected exception escape — for a finding.
 */
public final class FuzzTargets {
    /** Small valid bases the image target mutates: 512-byte clusters keep files tiny and every table reachable. */
    static final List<Qcow2Image> BASES = List.of(
            new Qcow2ImageBuilder().clusterBits(9).size(64 << 10).dataClusters(2).compressedClusters(1).build(),
            new Qcow2ImageBuilder().clusterBits(14).size(1 << 20).extendedL2(true).dataClusters(1)
                    .compressedClusters(1).build(),
            new Qcow2ImageBuilder().clusterBits(9).size(64 << 10).snapshot(true).build());

    private FuzzTargets() {
    }

    /** Header + extensions parser: anything but a typed rejection is a finding. */
    public static void parseHeader(byte[] cluster0, long fileSize) {
        try {
            Qcow2Header.parse(cluster0, fileSize);
        } catch (ImageFormatException | UnsupportedFeatureException expected) {
            if (expected.getMessage() == null || expected.getMessage().isBlank()) {
                throw new AssertionError("rejection without a message", expected);
            }
        }
    }

    /** L2/subcluster classifier, checked against a model written from the specification's table. */
    public static void classify(long word, long bitmap, int index, boolean extendedL2) {
        L2Entry entry = new L2Entry(word, bitmap);
        int subclusters = extendedL2 ? 32 : 1;
        int i = Math.floorMod(index, subclusters);
        SubclusterType actual = entry.type(i, extendedL2, false);
        SubclusterType expected = specType(word, bitmap, i, extendedL2);
        if (actual != expected) {
            throw new AssertionError("entry 0x" + Long.toHexString(word) + "/0x" + Long.toHexString(bitmap)
                    + " subcluster " + i + ": driver says " + actual + ", specification says " + expected);
        }
        int run = entry.runLength(i, subclusters, extendedL2, false);
        if (run < 1 || i + run > subclusters) {
            throw new AssertionError("run length " + run + " at " + i + " of " + subclusters);
        }
    }

    /** qcow2.txt, "Extended L2 Entries" and "Standard Cluster Descriptor", without external data files. */
    static SubclusterType specType(long word, long bitmap, int i, boolean extendedL2) {
        if ((word & L2Entry.COMPRESSED) != 0) {
            return SubclusterType.COMPRESSED;
        }
        boolean host = (word & 0x00ff_ffff_ffff_fe00L) != 0;
        if (!extendedL2) {
            if ((word & 1) != 0) {
                return host ? SubclusterType.ZERO_ALLOC : SubclusterType.ZERO_PLAIN;
            }
            return host ? SubclusterType.NORMAL : SubclusterType.UNALLOCATED_PLAIN;
        }
        long alloc = bitmap & 0xffff_ffffL;
        long zero = bitmap >>> 32;
        if (host ? (alloc & zero) != 0 : alloc != 0) {
            return SubclusterType.INVALID; // QEMU judges the whole entry, not only subcluster i
        }
        boolean a = (alloc >>> i & 1) != 0;
        boolean z = (zero >>> i & 1) != 0;
        if (host) {
            return z ? SubclusterType.ZERO_ALLOC : a ? SubclusterType.NORMAL : SubclusterType.UNALLOCATED_ALLOC;
        }
        return z ? SubclusterType.ZERO_PLAIN : SubclusterType.UNALLOCATED_PLAIN;
    }

    /**
     * The image opener end to end: pokes {@code edits} (offset, byte) pairs into a valid base image, opens it
     * read-only, reads the whole (small) disk, closes. Typed IOExceptions are fine; anything else is a finding.
     */
    public static void openMutatedImage(int base, int[] offsets, byte[] values, Path dir) throws IOException {
        Qcow2Image image = BASES.get(Math.floorMod(base, BASES.size()));
        byte[] bytes = image.copyBytes();
        for (int i = 0; i < offsets.length && i < values.length; i++) {
            bytes[Math.floorMod(offsets[i], bytes.length)] = values[i];
        }
        openBytes(bytes, dir);
    }

    public static void openBytes(byte[] bytes, Path dir) throws IOException {
        Path file = Files.createTempFile(dir, "fuzz", ".qcow2");
        try {
            Files.write(file, bytes);
            BlockDevice device;
            try {
                device = new Qcow2Driver().open(file, OpenOptions.builder().readOnly(true).build(),
                        io.jblk.nativeio.HostFileOpener.DEFAULT);
            } catch (IOException rejected) {
                return;
            }
            try (device; Arena arena = Arena.ofShared()) {
                long n = Math.min(device.size(), 4L << 20);
                MemorySegment buffer = arena.allocate(Math.max(1, n));
                device.read(0, buffer.asSlice(0, n)).get();
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof IOException)) {
                    throw new AssertionError("read failed with an untyped " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException expected) {
                // close may report what the read already did
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
