package io.jblk.raw;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.NotPermittedException;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A raw image opened through probing refuses every modification of its first 512 bytes after which it would probe as
 * another format (QEMU's rule), through the blocking and the asynchronous API; everything else is written, and a raw
 * image opened with its format named is not restricted. The other format is {@link MagicTestDriver}.
 */
class ProbedRawHeaderTest {
    private static final OpenOptions READ_WRITE = OpenOptions.builder().build();

    @TempDir
    Path dir;

    private Path image(byte[] first) throws Exception {
        byte[] content = new byte[64 << 10];
        System.arraycopy(first, 0, content, 0, first.length);
        Path image = dir.resolve("victim.raw");
        Files.write(image, content);
        return image;
    }

    private static MemorySegment segment(byte[] bytes) {
        return MemorySegment.ofArray(bytes.clone());
    }

    private static byte[] sector(byte[] start) {
        return Arrays.copyOf(start, 512);
    }

    @Test
    void aWholeHeaderIsRefusedBothWaysAndTheFileStaysRaw() throws Exception {
        Path image = image(new byte[0]);
        try (BlockDevice device = BlockDrivers.open(image, null, READ_WRITE)) {
            assertEquals("raw", device.info().format());
            assertThrows(NotPermittedException.class,
                    () -> device.writeBlocking(0, segment(sector(MagicTestDriver.MAGIC)), false));
            ExecutionException async = assertThrows(ExecutionException.class,
                    () -> device.write(0, segment(sector(MagicTestDriver.MAGIC)), false).get());
            assertInstanceOf(NotPermittedException.class, async.getCause());
            // A write that spans the first sector and more is refused whole.
            byte[] big = Arrays.copyOf(MagicTestDriver.MAGIC, 8192);
            Arrays.fill(big, 512, big.length, (byte) 7);
            assertThrows(NotPermittedException.class, () -> device.writeBlocking(0, segment(big), true));
        }
        assertEquals("raw", BlockDrivers.probe(image).formatName());
        assertArrayEquals(new byte[8192], Arrays.copyOf(Files.readAllBytes(image), 8192), "nothing was written");
    }

    @Test
    void aHeaderAssembledPieceByPieceIsRefusedAtTheLastPiece() throws Exception {
        Path image = image(new byte[0]);
        try (BlockDevice device = BlockDrivers.open(image, null, READ_WRITE)) {
            device.writeBlocking(0, segment(Arrays.copyOf(MagicTestDriver.MAGIC, 4)), false);
            device.write(4, segment(Arrays.copyOfRange(MagicTestDriver.MAGIC, 4, 6)), false).get();
            assertThrows(NotPermittedException.class,
                    () -> device.writeBlocking(6, segment(Arrays.copyOfRange(MagicTestDriver.MAGIC, 6, 8)), false));
        }
        assertEquals("raw", BlockDrivers.probe(image).formatName());
    }

    @Test
    void zeroesAndDiscardsThatWouldCompleteAHeaderAreRefused() throws Exception {
        byte[] almost = Arrays.copyOf(MagicTestDriver.MAGIC, 8);
        almost[7] = 'X'; // "JBLKTESX": one zero byte away from the other format
        Path image = image(almost);
        try (BlockDevice device = BlockDrivers.open(image, null, READ_WRITE)) {
            assertThrows(NotPermittedException.class, () -> device.writeZeroesBlocking(7, 1, false));
            ExecutionException zeroes = assertThrows(ExecutionException.class,
                    () -> device.writeZeroes(7, 1, true).get());
            assertInstanceOf(NotPermittedException.class, zeroes.getCause());
        }
        Files.write(image, Arrays.copyOf(almost, 64 << 10));
        try (BlockDevice device = BlockDrivers.open(image, null, READ_WRITE)) {
            assertThrows(NotPermittedException.class, () -> device.discardBlocking(7, 1));
            ExecutionException discard = assertThrows(ExecutionException.class, () -> device.discard(7, 1).get());
            assertInstanceOf(NotPermittedException.class, discard.getCause());
            // Zeroing the whole sector leaves nothing to probe: allowed.
            device.writeZeroesBlocking(0, 512, false);
        }
        assertArrayEquals(new byte[8], Arrays.copyOf(Files.readAllBytes(image), 8));
    }

    @Test
    void ordinaryWritesToTheFirstSectorLand() throws Exception {
        Path image = image(new byte[0]);
        byte[] data = new byte[4096];
        Arrays.fill(data, (byte) 0x5a);
        try (BlockDevice device = BlockDrivers.open(image, null, READ_WRITE); Arena arena = Arena.ofConfined()) {
            device.writeBlocking(0, segment(data), false);
            MemorySegment confined = arena.allocate(512);
            confined.fill((byte) 0x33);
            device.write(512, confined, false).get(); // a confined buffer is written on the calling thread
        }
        byte[] file = Files.readAllBytes(image);
        assertEquals(0x5a, file[0]);
        assertEquals(0x33, file[600]);
    }

    @Test
    void namingTheFormatLiftsTheRestriction() throws Exception {
        Path image = image(new byte[0]);
        try (BlockDevice device = BlockDrivers.open(image, "raw", READ_WRITE)) {
            device.writeBlocking(0, segment(sector(MagicTestDriver.MAGIC)), false);
        }
        assertEquals("jblk-magic-test", BlockDrivers.probe(image).formatName());
    }
}
