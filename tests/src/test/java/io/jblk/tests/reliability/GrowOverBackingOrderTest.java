package io.jblk.tests.reliability;

import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.Qcow2Driver;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Growing an overlay over a longer backing file: the grown area must read as zeros, not as the backing data that
 * lay beyond the old end, also in the file as it is at the moment the header's new size lands (a crash right
 * after it). The image file is copied when the driver writes the size field; the copy, with that write applied, is
 * what a crash at that point leaves behind.
 */
class GrowOverBackingOrderTest {
    private static final int MIB = 1 << 20;
    private static final long SIZE_FIELD = 24;

    @TempDir
    Path dir;

    @Test
    void theGrownAreaReadsAsZerosOnceTheNewSizeIsOnDisk() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path base = dir.resolve("base.raw");
        byte[] backing = new byte[2 * MIB];
        Arrays.fill(backing, (byte) 0xee);
        Files.write(base, backing);
        Path image = dir.resolve("ov.qcow2");
        new Qcow2Driver().create(image, CreateOptions.builder(MIB).backingFile("base.raw", "raw")
                .option("extended_l2", "on").build());
        Path atSizeWrite = dir.resolve("crash.qcow2");
        HostFileOpener opener = (path, options) -> {
            HostFile file = HostFile.open(path, options);
            return path.equals(image) ? new CopyOnSizeWrite(file, atSizeWrite) : file;
        };

        new Qcow2Driver().resize(image, OpenOptions.defaults(), 3L * MIB, opener);

        assertTrue(Files.exists(atSizeWrite), "the resize wrote the header's size field");
        byte[] expected = new byte[3 * MIB];
        Arrays.fill(expected, 0, MIB, (byte) 0xee);
        for (Path p : List.of(image, atSizeWrite)) {
            ExternalTool.Result check = ExternalTool.qemuImg("check", "--output=json", p.toString());
            assertEquals(0, check.exitCode(), () -> p + ": " + check.stdout() + check.stderr());
            Path raw = dir.resolve(p.getFileName() + ".raw");
            ExternalTool.qemuImg("convert", "-f", "qcow2", "-O", "raw", p.toString(), raw.toString()).ok();
            assertArrayEquals(expected, Files.readAllBytes(raw), p + ": old data, then zeros where the disk grew");
        }
    }

    /** Copies the image when the 8-byte size field is written, then applies that write to the copy. */
    private static final class CopyOnSizeWrite extends ForwardingHostFile {
        private final Path copy;

        CopyOnSizeWrite(HostFile delegate, Path copy) {
            super(delegate);
            this.copy = copy;
        }

        @Override
        public CompletableFuture<Void> write(long offset, MemorySegment src) {
            if (offset == SIZE_FIELD && src.byteSize() == 8) {
                try {
                    Files.copy(delegate.path(), copy);
                    try (FileChannel ch = FileChannel.open(copy, StandardOpenOption.WRITE)) {
                        ch.write(ByteBuffer.wrap(src.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)), SIZE_FIELD);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
            return super.write(offset, src);
        }

        @Override
        public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
            return srcs.size() == 1 ? write(offset, srcs.getFirst()) : super.write(offset, srcs);
        }
    }
}
