package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test helpers: create and open images, read L2 entries straight from the file, run QEMU's checks. */
final class Qcow2Images {
    private Qcow2Images() {
    }

    static Qcow2Device create(Path path, long size, Map<String, String> options) throws IOException {
        new Qcow2Driver().create(path, CreateOptions.builder(size).options(options).build());
        return open(path);
    }

    static Qcow2Device open(Path path) throws IOException {
        return new Qcow2Driver().open(path, OpenOptions.builder().build(), io.jblk.nativeio.HostFileOpener.DEFAULT);
    }

    static Qcow2Device openReadOnly(Path path) throws IOException {
        return new Qcow2Driver().open(path, OpenOptions.builder().readOnly(true).build(),
                io.jblk.nativeio.HostFileOpener.DEFAULT);
    }

    static byte[] read(BlockDevice device, long offset, int length) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(length);
            device.read(offset, buf).get();
            return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    static void write(BlockDevice device, long offset, byte[] data) throws Exception {
        device.write(offset, MemorySegment.ofArray(data.clone())).get();
    }

    static byte[] pattern(int length, int value) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    /** The raw 128-bit (or 64-bit) L2 entry of a guest cluster, read from the file through L1 like qcow2dump. */
    static long[] l2Entry(Path image, long guestOffset) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(112);
            ch.read(h, 0);
            int clusterBits = h.getInt(20);
            long l1Offset = h.getLong(40);
            boolean extended = h.getInt(4) == 3 && (h.getLong(72) & 16) != 0;
            int entrySize = extended ? 16 : 8;
            long l2Entries = (1L << clusterBits) / entrySize;
            long cluster = guestOffset >>> clusterBits;
            ByteBuffer l1 = ByteBuffer.allocate(8);
            ch.read(l1, l1Offset + 8 * (cluster / l2Entries));
            long l2Offset = l1.getLong(0) & 0x00ff_ffff_ffff_fe00L;
            if (l2Offset == 0) {
                return new long[] {0, 0};
            }
            ByteBuffer e = ByteBuffer.allocate(16);
            ch.read(e, l2Offset + entrySize * (cluster % l2Entries));
            return new long[] {e.getLong(0), extended ? e.getLong(8) : 0};
        }
    }

    /** qemu-img check must find no corruption and no leak. */
    static void assertQemuCheckClean(Path image) throws Exception {
        ExternalTool.Result r = ExternalTool.qemuImg("check", "--output=json", image.toString());
        assertEquals(0, r.exitCode(), () -> "qemu-img check " + image + ":\n" + r.stdout() + r.stderr());
    }

    /** qemu-img compare of the image against a raw file must report identical content. */
    static void assertSameAsRaw(Path image, byte[] expected, Path dir) throws Exception {
        Path raw = dir.resolve("expected-" + System.nanoTime() + ".raw");
        Files.write(raw, expected);
        ExternalTool.Result r = ExternalTool.qemuImg("compare", "-f", "qcow2", "-F", "raw", image.toString(),
                raw.toString());
        assertEquals(0, r.exitCode(), () -> "qemu-img compare:\n" + r.stdout() + r.stderr());
    }
}
