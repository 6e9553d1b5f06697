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
        // the size is read before the image is opened, as qemu-img does: a bad size is reported even for a missing file
        boolean relative = size.startsWith("+") || size.startsWith("-");
        long amount;
        try {
            amount = Sizes.parse(relative ? size.substring(1) : size);
        } catch (Sizes.InvalidSizeException e) {
            throw new CliException("Invalid image size specified: '" + size + "'. " + (e.tooLarge()
                    ? "Must be between 0 and " + Long.MAX_VALUE + "." : "You may use k, M, G, T, P or E suffixes."));
        }
        long current;
        String formatName;
        // Only the size and format, without a lock: the resize below opens the image and takes qemu-img resize's
        // locks, so an image in use is refused there with QEMU's message.
        try (BlockDevice device = Images.open(file, format,
                OpenOptions.builder().readOnly(true).lockMode(io.jblk.api.LockMode.OFF).build())) {
            current = device.size();
            formatName = device.info().format();
        }
        if (size.startsWith("+") && amount > Long.MAX_VALUE - current) {
            throw new CliException("New image size is too large: " + current + " + " + amount + " bytes exceeds "
                    + Long.MAX_VALUE);
        }
        long target = size.startsWith("+") ? current + amount : size.startsWith("-") ? current - amount : amount;
        if (target <= 0) {
            throw new CliException("New image size must be positive (" + size + " from " + current + " bytes gives "
                    + target + ")");
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
