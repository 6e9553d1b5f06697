package io.jblk.cli;

import io.jblk.api.BlockDriver;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.UnknownFormatException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** {@code qemu-img create [-f fmt] [-o options] [-b backing [-F backing_fmt]] [-u] FILE [SIZE]}. */
@Command(name = "create", description = "Create a disk image.")
final class CreateCommand extends Subcommand {
    @Option(names = "-f", paramLabel = "fmt", description = "image format (default raw)", defaultValue = "raw")
    String format;
    @Option(names = "-o", paramLabel = "options", description = "name=value,... format options; -o help lists them")
    List<String> options;
    @Option(names = "-b", paramLabel = "backing_file", description = "backing file (relative to the image's folder)")
    String backingFile;
    @Option(names = "-F", paramLabel = "backing_fmt", description = "backing file format")
    String backingFormat;
    @Option(names = "-u", description = "unsafe: do not open the backing file (SIZE is then required)")
    boolean unsafe;
    @Option(names = "-q", description = "quiet")
    boolean quiet;
    @Parameters(index = "0", paramLabel = "FILE", arity = "0..1")
    Path file;
    @Parameters(index = "1", paramLabel = "SIZE", arity = "0..1", description = "size, with k, M, G, T, P or E suffix")
    String size;

    @Override
    public Integer call() throws IOException {
        BlockDriver driver = driver(format);
        Map<String, String> opts = OptionList.parse(options);
        if (OptionList.wantsHelp(opts)) {
            printHelp(out(), driver);
            return 0;
        }
        if (file == null) {
            throw new CliException("Expecting image file name");
        }
        String backing = pop(opts, "backing_file", backingFile);
        String backingFmt = pop(opts, "backing_fmt", backingFormat);
        String sizeText = pop(opts, "size", size);
        if (backing == null && backingFmt != null) {
            throw new CliException(file + ": Backing format cannot be used without backing file");
        }
        Path backingPath = backing == null ? null : backingPath(backing);
        if (backingPath != null && BackingChain.sameFile(backingPath, file)) {
            // qemu-img compares the names only ("./x" or a link to x get through and make a looping image)
            throw new CliException(file + ": Error: Trying to create an image with itself as the backing file ('"
                    + backing + "' is the same file as " + file + ")");
        }
        if (backing != null && backingFmt == null) {
            // qemu-img 7.2 refuses to store a backing file without its format: probing it on every open would let
            // a guest that writes a format header into a raw backing file change what the overlay reads
            throw new CliException(file + ": Backing file specified without backing format"
                    + (unsafe ? "" : detectedFormat(backingPath)) + " (give it with -F)");
        }
        long bytes;
        if (sizeText != null) {
            bytes = Sizes.parseArgument("image size", sizeText);
        } else if (backing != null && !unsafe) {
            bytes = backingSize(backing, backingPath, backingFmt);
        } else {
            throw new CliException("Image creation needs a size parameter");
        }
        if (backing != null && !unsafe && sizeText != null) {
            backingSize(backing, backingPath, backingFmt); // qemu-img opens the backing file to check that it exists
        }
        CreateOptions.Builder builder = CreateOptions.builder(bytes).options(opts);
        if (backing != null) {
            builder.backingFile(backing, backingFmt);
        }
        if (!quiet) {
            out().println(formattingLine(opts, bytes, backing, backingFmt));
        }
        try {
            BlockDrivers.create(file, format, builder.build());
        } catch (IOException | IllegalArgumentException e) {
            throw new CliException(file + ": " + Images.describe(e));
        }
        return 0;
    }

    private String formattingLine(Map<String, String> opts, long bytes, String backing, String backingFmt) {
        StringBuilder line = new StringBuilder("Formatting '" + file + "', fmt=" + format);
        opts.forEach((k, v) -> line.append(' ').append(k).append('=').append(v));
        line.append(" size=").append(bytes);
        if (backing != null) {
            line.append(" backing_file=").append(backing);
            if (backingFmt != null) {
                line.append(" backing_fmt=").append(backingFmt);
            }
        }
        return line.toString();
    }

    /** The backing file as the new image will find it: a relative name is relative to the image's folder. */
    private Path backingPath(String backing) {
        Path path = Path.of(backing);
        if (!path.isAbsolute() && file.toAbsolutePath().getParent() != null) {
            path = file.toAbsolutePath().getParent().resolve(path);
        }
        return path;
    }

    /**
     * The backing image's size, rounded up to 512 bytes as qemu-img does (block devices count whole sectors); also
     * refuses a backing file whose own chain already contains the image being created, which would make the new
     * image its own backing file once written. As qemu-img create, the chain is opened for its metadata only and
     * force-shared, so a backing file in use elsewhere still gives its size.
     */
    private long backingSize(String backing, Path path, String backingFmt) {
        List<BackingChain.Layer> chain = BackingChain.of(path, backingFmt, true);
        for (BackingChain.Layer layer : chain) {
            if (BackingChain.sameFile(Path.of(layer.name()), file)) {
                throw new CliException(file + ": the backing chain of '" + backing + "' contains " + file
                        + " itself (" + layer.name() + "); the new image would be its own backing file");
            }
        }
        return Math.ceilDiv(chain.getFirst().info().virtualSize(), Buffers.SECTOR) * Buffers.SECTOR;
    }

    /** "; detected format: qcow2" when the backing file can be probed, else nothing. */
    private static String detectedFormat(Path backing) {
        try {
            return "; its detected format is " + BlockDrivers.probe(backing).formatName();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static String pop(Map<String, String> opts, String name, String fromFlag) {
        String value = opts.remove(name);
        return fromFlag != null ? fromFlag : value;
    }

    static BlockDriver driver(String format) {
        try {
            return BlockDrivers.require(format);
        } catch (UnknownFormatException e) {
            throw new CliException("Unknown file format '" + format + "': " + e.getMessage());
        }
    }

    static void printHelp(PrintWriter out, BlockDriver driver) {
        out.println("Supported " + driver.formatName() + " options:");
        if (driver.createOptionHelp().isEmpty()) {
            out.println("  (the " + driver.formatName() + " driver does not describe its options)");
        }
        for (BlockDriver.OptionHelp help : driver.createOptionHelp()) {
            String left = help.name() + "=<" + help.type() + ">";
            out.println("  " + String.format("%-22s", left) + " - " + help.description());
        }
    }
}
