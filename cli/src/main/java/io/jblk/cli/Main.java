package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.ImageInfo;
import io.jblk.api.OpenOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** Entry point of the {@code jblk} command. */
@Command(name = "jblk", mixinStandardHelpOptions = true, version = "jblk 0.1.0",
        description = "Disk images with qemu-img's habits, served by jblk's drivers.",
        subcommands = {Main.Create.class, Main.Info.class})
public final class Main implements Callable<Integer> {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line and returns its exit code (for tests). */
    public static int run(String... args) {
        return new CommandLine(new Main()).setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("jblk: " + e.getMessage());
            return 1;
        }).execute(args);
    }

    @Override
    public Integer call() {
        new CommandLine(this).usage(System.out);
        return 0;
    }

    @Command(name = "create", description = "Create a disk image.")
    static final class Create implements Callable<Integer> {
        @Option(names = "-f", description = "image format", defaultValue = "raw") String format;
        @Parameters(index = "0") Path file;
        @Parameters(index = "1") long size;

        @Override
        public Integer call() throws Exception {
            BlockDrivers.create(file, format, CreateOptions.builder(size).build());
            System.out.println("Formatting '" + file + "', fmt=" + format + " size=" + size);
            return 0;
        }
    }

    @Command(name = "info", description = "Show information about a disk image.")
    static final class Info implements Callable<Integer> {
        @Option(names = "-f", description = "image format (probed when absent)") String format;
        @Parameters(index = "0") Path file;

        @Override
        public Integer call() throws Exception {
            try (BlockDevice device = BlockDrivers.open(file, format, OpenOptions.builder().readOnly(true).build())) {
                ImageInfo info = device.info();
                System.out.println("image: " + file);
                System.out.println("file format: " + info.format());
                System.out.println("virtual size: " + info.virtualSize() + " bytes");
                System.out.println("io engine: " + info.ioEngine());
            }
            return 0;
        }
    }
}
