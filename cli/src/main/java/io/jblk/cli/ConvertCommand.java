package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.Extent;
import io.jblk.api.BlockPermission;
import io.jblk.api.OpenOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;

/**
 * {@code qemu-img convert [-f fmt] [-O fmt] [-o options] [-c] [-p] [-n] [-S size] SRC DST}: copies the guest-visible
 * content (backing chain flattened) into a new image, leaving zero areas unallocated.
 */
@Command(name = "convert", description = "Copy an image into a new image, possibly of another format.")
final class ConvertCommand extends Subcommand {
    /** Size of one read; large enough to stream, small enough to keep memory flat. */
    private static final long CHUNK = 2L << 20;
    /** Chunks copied at the same time. */
    private static final int WORKERS = 8;
    /** The largest -S, as qemu-img's (its zero-detection buffer). */
    private static final long MAX_SPARSE = 16L << 20;

    @Option(names = "-f", paramLabel = "fmt", description = "source format (probed when absent)")
    String sourceFormat;
    @Option(names = "-O", paramLabel = "fmt", description = "output format (default raw)", defaultValue = "raw")
    String outputFormat;
    @Option(names = "-o", paramLabel = "options", description = "name=value,... creation options of the output")
    List<String> options;
    @Option(names = "-c", description = "compress the output (the output driver must accept the 'compress' open option)")
    boolean compress;
    @Option(names = "-p", description = "show progress")
    boolean progress;
    @Option(names = "-n", description = "do not create the output: write into an existing image")
    boolean noCreate;
    @Option(names = "-S", paramLabel = "size", defaultValue = "4k",
            description = "runs of zeros at least this long are left unallocated (0 = write everything)")
    String sparseSize;
    @Option(names = "-q", description = "quiet")
    boolean quiet;
    @Option(names = {"-U", "--force-share"}, description = "force shared permissions: open even while another process writes the image (read-only opens only)")
    boolean forceShare;
    @Parameters(index = "0", paramLabel = "SRC")
    Path source;
    @Parameters(index = "1", paramLabel = "DST")
    Path target;

    @Override
    public Integer call() throws IOException {
        long sparse = Sizes.parseArgument("buffer size for sparse output", sparseSize);
        if (sparse % Buffers.SECTOR != 0 || sparse > MAX_SPARSE) {
            throw new CliException("Invalid buffer size for sparse output specified: '" + sparseSize
                    + "'. Valid sizes are multiples of 512 up to " + MAX_SPARSE + ".");
        }
        if (compress && outputFormat.equals("raw")) {
            throw new CliException("Compression not supported for this file format: raw");
        }
        // The source is read sharing only reads, as qemu-img convert opens it: nobody may change it meanwhile.
        OpenOptions sourceOptions = Images.options(true, forceShare)
                .sharedPermissions(EnumSet.of(BlockPermission.CONSISTENT_READ, BlockPermission.WRITE_UNCHANGED)).build();
        try (BlockDevice src = Images.open(source, sourceFormat, sourceOptions)) {
            Map<String, String> opts = OptionList.parse(options);
            if (OptionList.wantsHelp(opts)) {
                CreateCommand.printHelp(out(), CreateCommand.driver(outputFormat));
                return 0;
            }
            if (!noCreate) {
                try {
                    BlockDrivers.create(target, outputFormat, CreateOptions.builder(src.size()).options(opts).build());
                } catch (IOException | IllegalArgumentException e) {
                    throw new CliException(target + ": " + Images.describe(e));
                }
            } else if (!Files.exists(target)) {
                throw new CliException("Could not open '" + target + "': No such file or directory");
            }
            OpenOptions.Builder openOptions = Images.options(false, false);
            if (compress) {
                openOptions.formatOption("compress", "on");
            }
            try (BlockDevice dst = Images.open(target, outputFormat, openOptions.build())) {
                if (dst.size() < src.size()) {
                    throw new CliException("Output image '" + target + "' is smaller (" + dst.size()
                            + " bytes) than the source (" + src.size() + " bytes)");
                }
                copy(src, dst, sparse, !noCreate);
                Await.get(dst.flush(), target + ": flush");
            }
        }
        return 0;
    }

    /**
     * Copies every extent. A fresh target already reads as zeros, so zero extents and zero runs are skipped;
     * an existing one (-n) gets them as write-zeroes. With {@code -S 0} nothing is skipped: zeros are written as
     * data, as qemu-img does. Data is read in chunks by {@link #WORKERS} threads, each
     * with its own buffer, so reads overlap; writes go out in guest order, as qemu-img convert's (without -W), so
     * the output is laid out sequentially on the host.
     */
    private void copy(BlockDevice src, BlockDevice dst, long sparse, boolean freshTarget) throws IOException {
        Progress bar = new Progress(out(), progress && !quiet, src.size());
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        List<Extent> extents = new ArrayList<>();
        try (Arena arena = Arena.ofShared();
             var workers = java.util.concurrent.Executors.newFixedThreadPool(WORKERS)) {
            java.util.concurrent.BlockingQueue<MemorySegment> buffers = new java.util.concurrent.ArrayBlockingQueue<>(WORKERS);
            for (int i = 0; i < WORKERS; i++) {
                buffers.add(Buffers.allocate(arena, CHUNK));
            }
            List<java.util.concurrent.Future<?>> pending = new ArrayList<>();
            WriteOrder order = new WriteOrder();
            long spanLimit = 1L << 30;
            for (long at = 0; at < src.size(); ) {
                long span = Math.min(spanLimit, src.size() - at);
                extents.clear();
                ExtentMap.walk(src, at, span, extents::add);
                spanLimit = ExtentMap.nextChunk(spanLimit, extents);
                for (Extent e : extents) {
                    // -S 0 (qemu-img's "no sparse detection"): zero extents are written like data, so the output
                    // is fully allocated.
                    if (e.zero() && !e.data() && sparse != 0) {
                        if (!freshTarget) {
                            Await.get(dst.writeZeroes(e.offset(), e.length(), true), target + ": zero at " + e.offset());
                        }
                        bar.update(done.addAndGet(e.length()));
                        continue;
                    }
                    for (long off = e.offset(); off < e.end(); off += CHUNK) {
                        long chunkOffset = off;
                        long len = Math.min(CHUNK, e.end() - off);
                        long ticket = order.issue();
                        pending.add(workers.submit(() -> {
                            MemorySegment buffer = buffers.take();
                            try {
                                MemorySegment chunk = buffer.asSlice(0, len);
                                Await.get(src.read(chunkOffset, chunk), source + ": read at offset " + chunkOffset);
                                order.await(ticket);
                                try {
                                    writeSparse(dst, chunkOffset, chunk, sparse, freshTarget);
                                } finally {
                                    order.done(ticket);
                                }
                                bar.update(done.addAndGet(len));
                            } finally {
                                buffers.add(buffer);
                            }
                            return null;
                        }));
                    }
                }
                at += span;
                for (var f : pending) {
                    waitFor(f);
                }
                pending.clear();
                bar.update(done.get());
            }
        }
        bar.finish();
    }

    private static void waitFor(java.util.concurrent.Future<?> f) throws IOException {
        try {
            f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(Images.describe(e.getCause()), e.getCause());
        }
    }

    /** Writes {@code chunk} at {@code offset}, leaving out aligned runs of zeros of at least {@code sparse} bytes. */
    private void writeSparse(BlockDevice dst, long offset, MemorySegment chunk, long sparse, boolean freshTarget)
            throws IOException {
        if (sparse == 0) {
            Await.get(dst.write(offset, chunk), target + ": write at offset " + offset);
            return;
        }
        long len = chunk.byteSize();
        long runStart = 0;
        boolean runIsZero = Buffers.isZero(chunk.asSlice(0, Math.min(sparse, len)));
        for (long pos = 0; pos < len; ) {
            long next = Math.min(len, pos + sparse);
            boolean zero = Buffers.isZero(chunk.asSlice(pos, next - pos));
            if (zero != runIsZero) {
                emit(dst, offset, chunk, runStart, pos, runIsZero, freshTarget);
                runStart = pos;
                runIsZero = zero;
            }
            pos = next;
        }
        emit(dst, offset, chunk, runStart, len, runIsZero, freshTarget);
    }

    private void emit(BlockDevice dst, long offset, MemorySegment chunk, long from, long to, boolean zero,
                      boolean freshTarget) throws IOException {
        if (to <= from) {
            return;
        }
        if (!zero) {
            Await.get(dst.write(offset + from, chunk.asSlice(from, to - from)),
                    target + ": write at offset " + (offset + from));
        } else if (!freshTarget) {
            Await.get(dst.writeZeroes(offset + from, to - from, true), target + ": zero at offset " + (offset + from));
        }
    }

    /** Tickets that let chunks read in parallel write one after another, in the order they were issued. */
    private static final class WriteOrder {
        private long issued;
        private long next;

        synchronized long issue() {
            return issued++;
        }

        synchronized void await(long ticket) throws InterruptedException {
            while (next != ticket) {
                wait();
            }
        }

        synchronized void done(long ticket) {
            next = ticket + 1;
            notifyAll();
        }
    }
}
