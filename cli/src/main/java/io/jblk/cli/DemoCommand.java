package io.jblk.cli;

import io.jblk.api.BackingReadCounter;
import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The README's main job: random 4 KiB writes to new qcow2 overlays (extended L2 entries off and on) over a fully
 * written raw backing file, and to a raw image without backing, in a temporary directory; prints speed, disk space
 * and an allocation picture per image, and, when qemu-img is installed, qemu-img bench's figures for the same
 * sequential-stride workload next to jblk's.
 */
@Command(name = "demo", aliases = "seed-table",
        description = "Show the subcluster effect: random 4 KiB writes to qcow2 overlays with and without extended L2.")
final class DemoCommand extends Subcommand {
    private static final int WRITE = 4096;
    /** Writes in flight, each with its own 4 KiB buffer and virtual thread: far more than any disk queue. */
    private static final int MAX_DEPTH = 4096;

    @Option(names = "--size", paramLabel = "size", description = "backing file size (default 256M, less if the disk is short)")
    String size;
    @Option(names = {"-n", "--writes"}, paramLabel = "count", defaultValue = "5000", description = "random writes per image")
    long writes;
    @Option(names = {"-d", "--depth"}, paramLabel = "depth", defaultValue = "8", description = "writes in flight")
    int depth;
    @Option(names = "--cluster-sizes", paramLabel = "list", split = ",", defaultValue = "128k",
            description = "qcow2 cluster sizes to try, e.g. 64k,128k,2M")
    List<String> clusterSizes;
    @Option(names = "--seed", defaultValue = "1", description = "seed of the random offsets")
    long seed;
    @Option(names = "--dir", paramLabel = "dir", description = "work in this directory (default: a new temporary one)")
    Path dir;
    @Option(names = "--keep", description = "keep the images afterwards")
    boolean keep;
    @Option(names = "--no-qemu", description = "skip the qemu-img bench comparison")
    boolean noQemu;

    /** One image of the table: how to create it and what to call it. */
    private record Config(String label, String format, long clusterSize, String extendedL2, boolean backed) {
        String fileName() {
            return format.equals("raw") ? "plain.raw"
                    : "overlay-" + clusterSize / 1024 + "k-l2" + extendedL2 + ".qcow2";
        }
    }

    /** One table row; {@code backingRead} is -1 when the device does not count it (or has no backing file). */
    private record Row(Config config, Workload.Result result, long diskUsed, long backingRead, String picture,
                       String engine) {
    }

    @Override
    public Integer call() throws IOException {
        PrintWriter out = out();
        validate();
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("jblk-demo-");
        try {
            long backingSize = backingSize(work);
            boolean haveQcow2 = BlockDrivers.byName("qcow2").isPresent();
            out.println("jblk demo: random 4 KiB writes to new images over a fully written backing file");
            out.println("  directory  " + work + (keep ? "" : " (removed afterwards; --keep keeps it)"));
            Path backing = work.resolve("backing.raw");
            long t0 = System.nanoTime();
            writeBacking(backing, backingSize);
            out.printf(Locale.ROOT, "  backing    backing.raw: %s raw, every byte written (%.1f s)%n",
                    Sizes.human(backingSize), (System.nanoTime() - t0) / 1e9);
            out.printf("  workload   %d writes of 4 KiB at uniform random 4 KiB-aligned offsets, %d in flight, seed %d%n",
                    writes, depth, seed);
            out.println();

            List<Config> configs = new ArrayList<>();
            configs.add(new Config("raw, no backing", "raw", 0, "", false));
            for (String cs : clusterSizes) {
                long cluster = Sizes.parseArgument("cluster size", cs);
                configs.add(new Config("qcow2 " + Sizes.human(cluster).replace(" KiB", "k").replace(" MiB", "M")
                        + ", extended_l2=off", "qcow2", cluster, "off", true));
                configs.add(new Config("qcow2 " + Sizes.human(cluster).replace(" KiB", "k").replace(" MiB", "M")
                        + ", extended_l2=on", "qcow2", cluster, "on", true));
            }
            long firstOffset = BenchCommand.randomOffsets(backingSize, WRITE, seed).applyAsLong(0);
            long window = Math.max(WRITE, clusterSizes.stream().mapToLong(Sizes::parse).max().orElse(WRITE));
            long windowStart = firstOffset - firstOffset % window;
            List<Row> rows = new ArrayList<>();
            for (Config c : configs) {
                if (c.format().equals("qcow2") && !haveQcow2) {
                    continue;
                }
                rows.add(runRandom(work, c, backingSize, windowStart));
            }
            printTable(out, rows, windowStart);
            if (!haveQcow2) {
                out.println();
                out.println("NOTE: the qcow2 driver is not installed in this build (formats: "
                        + BlockDrivers.installed().stream().map(d -> d.formatName()).toList() + "), so the qcow2 "
                        + "overlays (extended_l2=off/on) were skipped; only the raw baseline ran.");
                return 0;
            }
            if (!noQemu) {
                compareWithQemu(out, work, configs, backingSize);
            }
            return 0;
        } finally {
            if (!keep && dir == null) {
                deleteTree(work);
            }
        }
    }

    /** Refuses bad numbers before the working directory is made or anything is printed. */
    private void validate() {
        if (writes < 1) {
            throw new CliException("demo: --writes must be at least 1, got " + writes);
        }
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new CliException("demo: --depth must be between 1 and " + MAX_DEPTH + ", got " + depth);
        }
        if (size != null) {
            long bytes = Sizes.parseArgument("backing file size", size);
            if (bytes < WRITE) {
                throw new CliException("demo: --size " + size + " is smaller than one 4 KiB write");
            }
        }
        for (String cs : clusterSizes) {
            long cluster = Sizes.parseArgument("cluster size", cs);
            // every size gets an extended_l2=on overlay, which qcow2 allows from 16 KiB clusters
            if (cluster < (16 << 10) || cluster > (2 << 20) || Long.bitCount(cluster) != 1) {
                throw new CliException("demo: cluster size " + cs + " must be a power of two from 16k to 2M "
                        + "(extended L2 entries need at least 16k)");
            }
        }
    }

    /** 256 MiB, or less when the file system cannot hold the backing file and the overlays several times over. */
    private long backingSize(Path work) throws IOException {
        long usable = Files.getFileStore(work).getUsableSpace();
        if (size != null) {
            long bytes = Sizes.parseArgument("backing file size", size);
            // the backing file is written completely, and each overlay may grow to its size: refuse what cannot fit
            if (bytes > usable / 4) {
                throw new CliException("demo: --size " + size + " (" + Sizes.human(bytes) + ") needs about four times "
                        + "that on the file system of " + work + ", which has " + Sizes.human(usable) + " free");
            }
            return bytes;
        }
        long wanted = 256L << 20;
        while (wanted > (16L << 20) && wanted * 6 > usable) {
            wanted /= 2;
        }
        return wanted;
    }

    private void writeBacking(Path backing, long bytes) throws IOException {
        BlockDrivers.create(backing, "raw", CreateOptions.builder(bytes).build());
        int chunk = (int) Math.min(bytes, 1 << 20);
        try (BlockDevice device = Images.open(backing, "raw", false)) {
            Workload.run(device, true, bytes / chunk, 4, chunk, (byte) 0x42, i -> i * chunk, 0);
        }
    }

    private Row runRandom(Path work, Config c, long backingSize, long windowStart) throws IOException {
        Path image = work.resolve(c.fileName());
        CreateOptions.Builder create = CreateOptions.builder(backingSize);
        if (c.format().equals("qcow2")) {
            create.option("cluster_size", Long.toString(c.clusterSize())).option("extended_l2", c.extendedL2());
            if (c.backed()) {
                create.backingFile("backing.raw", "raw");
            }
        }
        BlockDrivers.create(image, c.format(), create.build());
        Workload.Result result;
        String engine;
        AllocationPicture picture;
        long backingRead = -1;
        try (BlockDevice device = Images.open(image, c.format(), false)) {
            long before = c.backed() && device instanceof BackingReadCounter counter ? counter.backingBytesRead() : 0;
            result = Workload.run(device, true, writes, depth, WRITE, (byte) 0x17,
                    BenchCommand.randomOffsets(backingSize, WRITE, seed), 0);
            if (c.backed() && device instanceof BackingReadCounter counter) {
                backingRead = counter.backingBytesRead() - before;
            }
            engine = device.info().ioEngine();
            long cluster = c.clusterSize() == 0 ? WRITE : c.clusterSize();
            picture = AllocationPicture.of(device.size(), WRITE, cluster, ExtentMap.all(device));
        }
        return new Row(c, result, Images.actualSize(image), backingRead, picture.window(windowStart, 64), engine);
    }

    private void printTable(PrintWriter out, List<Row> rows, long windowStart) {
        out.printf("%-28s %7s %9s %9s %11s %12s  %s%n", "image", "writes", "elapsed", "IOPS", "disk used",
                "backing read", "allocation of 64 x 4 KiB from offset 0x" + Long.toHexString(windowStart));
        for (Row r : rows) {
            out.printf(Locale.ROOT, "%-28s %7d %7.2f s %9.0f %11s %12s  %s%n", r.config().label(),
                    r.result().requests(), r.result().seconds(), r.result().iops(), Sizes.human(r.diskUsed()),
                    r.backingRead() < 0 ? "-" : Sizes.human(r.backingRead()), r.picture());
        }
        out.println();
        out.println("picture: '#' written in this image, '.' read from the backing file, '0' zeros in this image,"
                + " '-' unallocated");
        String engine = rows.isEmpty() ? "" : rows.getFirst().engine();
        out.println("disk used: the image file's allocated bytes on the host (qemu-img info's actual-size); io engine "
                + engine + (engine.equals("filechannel")
                ? " (pure Java: it cannot see holes, so disk used is the file length)" : ""));
        out.println("backing read: bytes the driver read from the backing file during the writes (copy-on-write); "
                + "'-' where there is no backing file or the driver does not count them");
    }

    /**
     * qemu-img bench cannot write at random offsets, so both tools run the same sequential-stride workload: one
     * 4 KiB write at the start of each cluster, on fresh overlays of the same backing file.
     */
    private void compareWithQemu(PrintWriter out, Path work, List<Config> configs, long backingSize) throws IOException {
        if (!onPath("qemu-img")) {
            out.println();
            out.println("qemu-img is not on the PATH: no side-by-side comparison with QEMU.");
            return;
        }
        out.println();
        out.println("Same workload in QEMU: 4 KiB writes, one per cluster (stride = cluster size), "
                + depth + " in flight, fresh overlays");
        out.printf("%-28s %7s %12s %14s%n", "image", "writes", "jblk IOPS", "qemu-img IOPS");
        for (Config c : configs) {
            if (!c.format().equals("qcow2")) {
                continue;
            }
            long count = Math.min(writes, backingSize / c.clusterSize());
            Path ours = work.resolve("stride-jblk-" + c.fileName());
            Path theirs = work.resolve("stride-qemu-" + c.fileName());
            BlockDrivers.create(ours, "qcow2", CreateOptions.builder(backingSize).backingFile("backing.raw", "raw")
                    .option("cluster_size", Long.toString(c.clusterSize())).option("extended_l2", c.extendedL2()).build());
            double jblkIops;
            try (BlockDevice device = Images.open(ours, "qcow2", false)) {
                long stride = c.clusterSize();
                jblkIops = Workload.run(device, true, count, depth, WRITE, (byte) 0x17, i -> i * stride, 0).iops();
            }
            String qemuIops = qemuBench(theirs, c, backingSize, count);
            out.printf(Locale.ROOT, "%-28s %7d %12.0f %14s%n", c.label(), count, jblkIops, qemuIops);
        }
    }

    private String qemuBench(Path image, Config c, long backingSize, long count) {
        try {
            run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "cluster_size=" + c.clusterSize() + ",extended_l2="
                    + c.extendedL2(), "-b", "backing.raw", "-F", "raw", image.toString(), Long.toString(backingSize));
            String output = run("qemu-img", "bench", "-w", "-f", "qcow2", "-c", Long.toString(count), "-d",
                    Integer.toString(depth), "-s", "4k", "-S", Long.toString(c.clusterSize()), image.toString());
            for (String line : output.split("\n")) {
                if (line.startsWith("Run completed in ")) {
                    double seconds = Double.parseDouble(line.substring(17, line.indexOf(" seconds")));
                    return String.format(Locale.ROOT, "%.0f", count / Math.max(seconds, 1e-9));
                }
            }
            return "no result";
        } catch (IOException e) {
            return "failed: " + e.getMessage();
        }
    }

    private static String run(String... command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        try {
            if (p.waitFor() != 0) {
                throw new IOException(command[0] + " " + command[1] + " exited with " + p.exitValue() + ": " + output.trim());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        return output;
    }

    private static boolean onPath(String tool) {
        for (String d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) {
                return true;
            }
        }
        return false;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
