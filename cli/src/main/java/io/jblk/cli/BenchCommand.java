package io.jblk.cli;

import io.jblk.api.BlockDevice;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongUnaryOperator;

/**
 * {@code qemu-img bench} with its flags, plus {@code --random} (uniform random aligned offsets) and {@code --json}.
 * Prints qemu-img's two lines, then the request rate and throughput.
 */
@Command(name = "bench", description = "Run a simple sequential (or --random) I/O benchmark on an image.")
final class BenchCommand extends Subcommand {
    private static final long DEFAULT_WARMUP = 20_000;
    /** Virtual size beyond which the warm-up walk wraps instead (sparse either way). */
    private static final long MAX_SCRATCH = 1L << 40;
    /**
     * Request buffers of one run, all in flight at once. qemu-img bench allocates depth x size in one piece without a
     * bound (-d 64 -s 1G crashes it); jblk refuses past this.
     */
    static final long MAX_BUFFER_BYTES = 2L << 30;

    @Option(names = "-c", paramLabel = "count", defaultValue = "75000", description = "number of requests")
    long count;
    @Option(names = "-d", paramLabel = "depth", defaultValue = "64", description = "requests in flight")
    int depth;
    @Option(names = "-f", paramLabel = "fmt", description = "image format (probed when absent)")
    String format;
    @Option(names = "-n", description = "native AIO: the io_uring engine (same as -i native)")
    boolean nativeAio;
    @Option(names = "-o", paramLabel = "offset", defaultValue = "0", description = "offset of the first request")
    String offset;
    @Option(names = "-s", paramLabel = "size", defaultValue = "4k", description = "request size")
    String size;
    @Option(names = "-S", paramLabel = "step", description = "distance between requests (default: size)")
    String step;
    @Option(names = "-t", paramLabel = "cache", defaultValue = "writeback", description = "cache mode: none or writeback")
    String cache;
    @Option(names = "-i", paramLabel = "aio", description = "I/O engine: threads, native or io_uring (native = io_uring), or "
            + "auto (default threads like qemu-img bench; -n = native)")
    String aio;
    @Option(names = "-w", description = "write instead of read")
    boolean write;
    @Option(names = "--pattern", paramLabel = "pattern", defaultValue = "0", description = "byte written with -w")
    String pattern;
    @Option(names = "--flush-interval", paramLabel = "n", defaultValue = "0", description = "flush every n requests")
    long flushInterval;
    @Option(names = "--no-drain", description = "accepted for compatibility (flushes always wait for requests in flight)")
    boolean noDrain;
    @Option(names = "--random", description = "uniform random offsets, aligned to the request size")
    boolean random;
    @Option(names = "--seed", paramLabel = "n", defaultValue = "1", description = "seed of --random")
    long seed;
    @Option(names = "--warmup", paramLabel = "n", defaultValue = "-1", description = "untimed requests first, to let "
            + "the JIT compile the request path: reads re-read the image, writes go to a scratch image of the same "
            + "format and geometry beside it, deleted afterwards (default: min(count, 20000); 0 = none)")
    long warmup;
    @Option(names = "--json", description = "print the result as JSON")
    boolean json;
    @Option(names = "-q", description = "quiet")
    boolean quiet;
    @Option(names = {"-U", "--force-share"}, description = "force shared permissions: open even while another process writes the image (read-only opens only)")
    boolean forceShare;
    @Option(names = "--seed-table", description = "run the seed experiment instead (same as 'jblk demo')")
    boolean seedTable;
    @Parameters(index = "0", paramLabel = "FILE", arity = "0..1")
    Path file;

    /** Requests in flight: the depth, or fewer when the run has fewer requests. */
    private int slots;

    @Override
    public Integer call() throws IOException {
        if (seedTable) {
            return spec.commandLine().getParent().getSubcommands().get("demo").execute();
        }
        if (file == null) {
            throw new CliException("bench: Expecting one image file name");
        }
        long first = Sizes.parseArgument("offset", offset);
        long requestBytes = Sizes.parseArgument("buffer size", size);
        long stepSize = step == null ? requestBytes : Sizes.parseArgument("step_size", step);
        if (requestBytes < 1 || requestBytes > IoCommand.MAX_REQUEST_BYTES) {
            throw new CliException("Invalid buffer size specified: '" + size + "'. Must be between 1 and "
                    + IoCommand.MAX_REQUEST_BYTES + ".");
        }
        int bufSize = (int) requestBytes;
        if (count < 0) {
            throw new CliException("Invalid request count specified: " + count);
        }
        if (depth < 1) {
            throw new CliException("Invalid queue depth specified: " + depth + " (at least 1)");
        }
        // Buffers are allocated before the first request: bound them by what the run can have in flight at once.
        slots = (int) Math.min(depth, Math.max(1, count));
        if ((long) slots * bufSize > MAX_BUFFER_BYTES) {
            throw new CliException("bench: " + slots + " requests of " + Sizes.human(bufSize) + " in flight need "
                    + Sizes.human((long) slots * bufSize) + " of buffers, more than jblk bench allocates ("
                    + Sizes.human(MAX_BUFFER_BYTES) + "); lower -d or -s");
        }
        if (flushInterval < 0) {
            throw new CliException("Invalid flush interval specified: " + flushInterval);
        }
        if (flushInterval > 0 && flushInterval < depth) {
            throw new CliException("Flush interval can't be smaller than depth");
        }
        if (flushInterval > 0 && !write) {
            throw new CliException("--flush-interval is only available in write tests");
        }
        byte fill = patternByte(pattern);
        // qemu-img bench without -n/-i uses its thread pool (aio=threads); the same flags pick jblk's threads engine
        String engine = aio != null ? aio : nativeAio ? "io_uring" : "threads";
        try (BlockDevice device = Images.open(file, format, Images.options(!write, forceShare), cache, engine)) {
            long imageSize = device.size();
            if (imageSize < bufSize) {
                throw new CliException(file + ": image (" + imageSize + " bytes) smaller than one request (" + bufSize + ")");
            }
            if (!random && first > imageSize - bufSize) {
                throw new CliException(file + ": the first request (offset " + first + ", " + bufSize
                        + " bytes) reaches beyond the image size " + imageSize);
            }
            LongUnaryOperator offsets = random ? randomOffsets(imageSize, bufSize, seed)
                    : sequentialOffsets(imageSize, bufSize, first, stepSize);
            if (!quiet && !json) {
                out().printf("Sending %d %s requests, %d bytes each, %d in parallel (starting at offset %d, step size %d)%s%n",
                        count, write ? "write" : "read", bufSize, depth, first, stepSize, random ? ", random offsets" : "");
            }
            long warmups = warmup < 0 ? Math.min(count, DEFAULT_WARMUP) : warmup;
            if (warmups > 0) {
                warmUp(device, warmups, bufSize, first, stepSize, fill, engine);
            }
            Workload.Result r = Workload.run(device, write, count, slots, bufSize, fill, offsets, flushInterval);
            String engineName = device.info().ioEngine();
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("requests", r.requests());
                m.put("request-size", (long) bufSize);
                m.put("depth", depth);
                m.put("write", write);
                m.put("random", random);
                m.put("seconds", r.seconds());
                m.put("iops", r.iops());
                m.put("mib-per-second", r.mibPerSecond());
                m.put("io-engine", engineName);
                out().println(Json.pretty(m));
            } else if (!quiet) {
                out().printf(Locale.ROOT, "Run completed in %.3f seconds.%n", r.seconds());
                out().printf(Locale.ROOT, "%.0f IOPS, %.1f MiB/s (io engine %s)%n", r.iops(), r.mibPerSecond(), engineName);
            }
        }
        return 0;
    }

    /** qemu-img bench's --pattern: C's strtol with base 0, 0 to 255. */
    private static byte patternByte(String text) {
        try {
            long value = Long.decode(text);
            if (value >= 0 && value <= 0xff) {
                return (byte) value;
            }
        } catch (NumberFormatException e) {
            // fall through to qemu-img's message
        }
        throw new CliException("Invalid pattern byte specified: '" + text + "' (0 to 255)");
    }

    /**
     * A JVM runs a request path interpreted until the JIT has compiled it, which a short run would measure instead of
     * jblk (qemu-img, compiled ahead of time, has no such phase). Reads warm up on the image itself; writes on a
     * scratch image of the same format, size and cluster geometry, so the measured image sees exactly the requests
     * qemu-img bench would send.
     */
    private void warmUp(BlockDevice device, long n, int bufSize, long first, long stepSize, byte fill, String engine)
            throws IOException {
        if (!write) {
            LongUnaryOperator offsets = random ? randomOffsets(device.size(), bufSize, seed + 1)
                    : sequentialOffsets(device.size(), bufSize, first, stepSize);
            Workload.run(device, false, n, slots, bufSize, fill, offsets, 0);
            return;
        }
        io.jblk.api.ImageInfo info = device.info();
        // Every warm-up write should take the measured path (allocate, and copy from the backing file where there is
        // one) at the measured offsets, or the JIT compiles for a path the timed run does not take and recompiles
        // as the clock starts. Without backing: one scratch image large enough that the sequential walk never wraps.
        // With backing the scratch image has the backing file's size, so the walk restarts on a fresh one each time
        // it would wrap (a wrapped write would land in an allocated cluster).
        boolean backed = info.fullBackingFilename() != null;
        if (random) {
            writeScratch(info, device.size(), n, bufSize, fill, engine, randomOffsets(device.size(), bufSize, seed + 1));
        } else if (backed) {
            long perPass = Math.max(1, (device.size() - bufSize - first) / Math.max(1, stepSize) + 1);
            for (long done = 0; done < n; done += perPass) {
                writeScratch(info, device.size(), Math.min(perPass, n - done), bufSize, fill, engine,
                        sequentialOffsets(device.size(), bufSize, first, stepSize));
            }
        } else {
            long walk = n <= (MAX_SCRATCH - first - bufSize) / Math.max(1, stepSize) ? first + n * stepSize + bufSize : 0;
            long scratchSize = Math.max(device.size(), (walk + 0xffff) & ~0xffffL);
            writeScratch(info, scratchSize, n, bufSize, fill, engine,
                    sequentialOffsets(scratchSize, bufSize, first, stepSize));
        }
    }

    /** Writes {@code n} requests to a fresh scratch image beside the measured one (same format, geometry, backing). */
    private void writeScratch(io.jblk.api.ImageInfo info, long scratchSize, long n, int bufSize, byte fill,
                              String engine, LongUnaryOperator offsets) throws IOException {
        Path scratch = file.toAbsolutePath().resolveSibling(".jblk-bench-warmup-" + ProcessHandle.current().pid());
        Map<String, String> options = new LinkedHashMap<>();
        if (info.clusterSize() > 0) {
            options.put("cluster_size", Long.toString(info.clusterSize()));
        }
        if (Boolean.TRUE.equals(info.formatSpecific().get("extended-l2"))) {
            options.put("extended_l2", "on");
        }
        try {
            io.jblk.api.CreateOptions.Builder create = io.jblk.api.CreateOptions.builder(scratchSize).options(options);
            if (info.fullBackingFilename() != null) {
                create.backingFile(info.fullBackingFilename(), info.backingFormat());
            }
            io.jblk.api.BlockDrivers.create(scratch, info.format(), create.build());
            try (BlockDevice target = Images.open(scratch, info.format(), false, cache, engine)) {
                Workload.run(target, true, n, slots, bufSize, fill, offsets, 0);
            }
        } finally {
            java.nio.file.Files.deleteIfExists(scratch);
        }
    }

    /**
     * qemu-img bench's walk: step on modulo the image size (so later passes fall between earlier ones), and start at
     * 0 when a request would not fit.
     */
    static LongUnaryOperator sequentialOffsets(long imageSize, int bufSize, long first, long step) {
        long[] next = {first};
        return i -> {
            long at = next[0];
            if (at + bufSize > imageSize) {
                at = 0;
            }
            next[0] = (at + step) % imageSize;
            return at;
        };
    }

    static LongUnaryOperator randomOffsets(long imageSize, int bufSize, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        long slots = imageSize / bufSize;
        return i -> rng.nextLong(slots) * bufSize;
    }
}
