package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDriver;
import io.jblk.api.BlockDrivers;
import io.jblk.api.ImageResizer;
import io.jblk.api.OpenOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;

/** {@code qemu-img resize [-f fmt] [--shrink] FILE [+|-]SIZE} through the driver's {@link ImageResizer}. */
@Command(name = "resize", description = "Change the virtual size of an image.")
final class ResizeCommand extends Subcommand {
    @Option(names = "-f", paramLabel = "fmt", description = "image format (probed when absent)")
    String format;
    @Option(names = "--shrink", description = "allow making the image smaller (data past the new end is lost)")
    boolean shrink;
    @Option(names = "-q", description = "quiet")
    boolean quiet;
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;
    @Parameters(index = "1", paramLabel = "[+|-]SIZE")
    String size;

    @Override
    public Integer call() throws IOException {
        long current;
        String formatName;
        // Only the size and format, without a lock: the resize below opens the image and takes qemu-img resize's
        // locks, so an image in use is refused there with QEMU's message.
        try (BlockDevice device = Images.open(file, format,
                OpenOptions.builder().readOnly(true).lockMode(io.jblk.api.LockMode.OFF).build())) {
            current = device.size();
            formatName = device.info().format();
        }
        long target;
        try {
            if (size.startsWith("+")) {
                target = Math.addExact(current, Sizes.parse(size.substring(1)));
            } else if (size.startsWith("-")) {
                target = current - Sizes.parse(size.substring(1));
            } else {
                target = Sizes.parse(size);
            }
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new CliException("Invalid image size specified: '" + size + "'");
        }
        if (target < 0) {
            throw new CliException("New image size must be positive, got " + target + " for '" + size + "'");
        }
        if (target < current && !shrink) {
            throw new CliException("Use the --shrink option to perform a shrink operation.");
        }
        BlockDriver driver = BlockDrivers.require(formatName);
        if (!(driver instanceof ImageResizer resizer)) {
            throw new CliException(file + ": format '" + formatName + "' does not support resizing");
        }
        // Even to the same size: qemu-img opens the image for resizing either way, so an image in use is refused.
        try {
            resizer.resize(file, Images.options(false, false).build(), target);
        } catch (io.jblk.nativeio.FileInUseException e) {
            throw new CliException("Could not open '" + file + "': " + e.getMessage());
        }
        if (!quiet) {
            out().println("Image resized.");
        }
        return 0;
    }
}
