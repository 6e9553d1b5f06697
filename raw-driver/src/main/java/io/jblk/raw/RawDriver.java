package io.jblk.raw;

import io.jblk.api.BlockDevice;
import io.jblk.api.CreateOptions;
import io.jblk.api.ImageResizer;
import io.jblk.api.InvalidOptionException;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileDriver;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.nativeio.HostFileOpening;
import io.jblk.nativeio.HostFileOptions;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The raw format: guest offset = file offset. Accepts any file, so it probes with the lowest score. */
public final class RawDriver implements HostFileDriver, ImageResizer {
    public static final String FORMAT = "raw";

    @Override
    public String formatName() {
        return FORMAT;
    }

    @Override
    public int probe(MemorySegment header, Path path) {
        return 1;
    }

    @Override
    public void create(Path path, CreateOptions options) throws IOException {
        if (options.backingFile() != null) {
            throw new InvalidOptionException("raw images cannot have a backing file");
        }
        String preallocation = "off";
        for (var option : options.formatOptions().entrySet()) {
            switch (option.getKey()) {
                case "preallocation" -> preallocation = option.getValue().toLowerCase(Locale.ROOT);
                default -> throw new InvalidOptionException("raw does not support option '" + option.getKey() + "'");
            }
        }
        // Locked before the truncation below, so a file another process is using is refused untouched; held until
        // the file is complete, as qemu-img create does.
        HostFileOptions hostOptions = HostFileOptions.defaults().withCreate(true).withLock(HostFileOpening.creation());
        try (HostFile file = HostFile.open(path, hostOptions)) {
            file.truncate(0);
            switch (preallocation) {
                case "off" -> file.truncate(options.size());
                case "falloc", "full" -> {
                    if (options.size() > 0) {
                        file.zeroRange(0, options.size()).join();
                    }
                    file.truncate(options.size());
                }
                default -> throw new InvalidOptionException("invalid preallocation mode '" + preallocation
                        + "' (expected off, falloc or full)");
            }
            file.flush().join();
        }
    }

    @Override
    public BlockDevice open(Path path, OpenOptions options) throws IOException {
        return open(path, options, HostFileOpener.DEFAULT);
    }

    /** Opens the image file through {@code opener} (a qcow2 overlay passes on the opener it was given). */
    @Override
    public RawDevice open(Path path, OpenOptions options, HostFileOpener opener) throws IOException {
        return new RawDevice(opener.open(path, HostFileOpening.hostOptions(options)), options.formatProbed());
    }

    /** A raw image is resized by setting its file's length; new space is a hole that reads as zeros. */
    @Override
    public void resize(Path path, OpenOptions options, long newSize) throws IOException {
        if (newSize < 0) {
            throw new InvalidOptionException("raw image size must not be negative, got " + newSize);
        }
        try (HostFile file = HostFile.open(path, HostFileOpening.forResize(options.toBuilder().readOnly(false).build()))) {
            file.truncate(newSize);
            file.flush().join();
        }
    }

    @Override
    public List<OptionHelp> createOptionHelp() {
        return List.of(
                new OptionHelp("size", "size", "Virtual disk size"),
                new OptionHelp("preallocation", "str", "Preallocation mode (allowed values: off, falloc, full)"));
    }
}
