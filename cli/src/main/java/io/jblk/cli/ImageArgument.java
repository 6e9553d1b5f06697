package io.jblk.cli;

import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;

/** The one image a subcommand inspects: FILE with qemu-img's {@code -f} and {@code -U}; mixed into its command. */
final class ImageArgument {
    @Option(names = "-f", paramLabel = "fmt", description = "image format (probed when absent)")
    String format;
    @Option(names = {"-U", "--force-share"}, description = "force shared permissions: open even while another process writes the image (read-only opens only)")
    boolean forceShare;
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;
}
