package io.jblk.api;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * Finds the installed {@link BlockDriver}s and opens or creates images through them.
 *
 * <p>Probing trusts the first bytes of a file: a raw image whose guest writes a qcow2 header would become, at its
 * next probed open, a qcow2 image naming any host file as backing. So, as in QEMU, a raw image opened through
 * probing refuses ({@link NotPermittedException}) any write, write-zeroes or discard of its first 512 bytes after
 * which it would probe as another format. Callers that serve guest-writable images should still pass the format.
 */
public final class BlockDrivers {
    /** How many header bytes {@link BlockDriver#probe} sees. */
    public static final int PROBE_BYTES = 512;

    private BlockDrivers() {
    }

    /** Every installed driver, sorted by format name. */
    public static List<BlockDriver> installed() {
        List<BlockDriver> drivers = new ArrayList<>();
        ServiceLoader.load(BlockDriver.class, BlockDrivers.class.getClassLoader()).forEach(drivers::add);
        drivers.sort(Comparator.comparing(BlockDriver::formatName));
        return List.copyOf(drivers);
    }

    public static Optional<BlockDriver> byName(String format) {
        return installed().stream().filter(d -> d.formatName().equals(format)).findFirst();
    }

    /** The driver for {@code format}, failing with a message that lists the installed formats. */
    public static BlockDriver require(String format) throws UnknownFormatException {
        return byName(format).orElseThrow(() -> new UnknownFormatException("unknown format '" + format
                + "' (installed: " + installed().stream().map(BlockDriver::formatName).toList() + ")"));
    }

    /** The driver that scores highest on the file's first bytes. */
    public static BlockDriver probe(Path path) throws IOException {
        BlockDriver best = bestMatch(installed(), readHeader(path), path);
        if (best == null) {
            throw new UnknownFormatException("no installed driver recognises " + path);
        }
        return best;
    }

    /**
     * The driver of {@code drivers} (sorted by format name, as {@link #installed()} returns them) that scores highest
     * on {@code header}, the first {@link #PROBE_BYTES} bytes of a file (fewer for a shorter file); the first of
     * equal scores wins; null when none scores above 0. The one rule probing follows.
     */
    public static BlockDriver bestMatch(List<BlockDriver> drivers, MemorySegment header, Path path) {
        BlockDriver best = null;
        int bestScore = 0;
        for (BlockDriver driver : drivers) {
            int score = driver.probe(header, path);
            if (score > bestScore) {
                best = driver;
                bestScore = score;
            }
        }
        return best;
    }

    /**
     * Opens {@code path} with the named format, or probes when {@code format} is null; a probed format is marked in
     * the options ({@link OpenOptions#formatProbed()}), so that a raw image refuses writes that would make it probe
     * as something else.
     */
    public static BlockDevice open(Path path, String format, OpenOptions options) throws IOException {
        if (format != null) {
            return require(format).open(path, options);
        }
        return probe(path).open(path, options.toBuilder().formatProbed(true).build());
    }

    public static void create(Path path, String format, CreateOptions options) throws IOException {
        require(format).create(path, options);
    }

    private static MemorySegment readHeader(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buffer = ByteBuffer.allocate(PROBE_BYTES);
            while (buffer.hasRemaining() && channel.read(buffer) > 0) {
                // keep reading: a short read is not the end of the file
            }
            buffer.flip();
            return MemorySegment.ofBuffer(buffer).asReadOnly();
        } catch (NoSuchFileException e) {
            throw new NoSuchFileException(path.toString(), null, "no such file");
        }
    }
}
