package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * {@code qemu-img compare [-f fmt] [-F fmt] [-p] [-s] A B}: exit 0 when the guest-visible contents are equal,
 * 1 when they differ, 2 on error. Without {@code -s} a size difference is fine when the extra part reads as zeros.
 */
@Command(name = "compare", description = "Check whether two images have the same guest-visible content.")
final class CompareCommand extends Subcommand {
    private static final long CHUNK = 1 << 20;

    @Option(names = "-f", paramLabel = "fmt", description = "format of the first image")
    String format1;
    @Option(names = "-F", paramLabel = "fmt", description = "format of the second image")
    String format2;
    @Option(names = "-p", description = "show progress")
    boolean progress;
    @Option(names = "-s", description = "strict: sizes and allocation must match too")
    boolean strict;
    @Option(names = "-q", description = "quiet")
    boolean quiet;
    @Option(names = {"-U", "--force-share"}, description = "force shared permissions: open even while another process writes the image (read-only opens only)")
    boolean forceShare;
    @Parameters(index = "0", paramLabel = "A")
    Path first;
    @Parameters(index = "1", paramLabel = "B")
    Path second;

    @Override
    int errorExitCode() {
        return 2;
    }

    @Override
    public Integer call() throws IOException {
        try (BlockDevice a = open(first, format1); BlockDevice b = open(second, format2);
             Arena arena = Arena.ofShared()) {
            long common = Math.min(a.size(), b.size());
            if (a.size() != b.size()) {
                if (strict) {
                    say("Strict mode: Image size mismatch!");
                    return 1;
                }
                say("Warning: Image size mismatch!");
            }
            MemorySegment bufA = Buffers.allocate(arena, CHUNK);
            MemorySegment bufB = Buffers.allocate(arena, CHUNK);
            Progress bar = new Progress(out(), progress, Math.max(a.size(), b.size()));
            for (long at = 0; at < common; ) {
                long len = Math.min(CHUNK, common - at);
                Extent ea = firstExtent(a, at, len);
                Extent eb = firstExtent(b, at, len);
                len = Math.min(Math.min(len, ea.end() - at), eb.end() - at);
                if (strict && (ea.present() != eb.present())) {
                    say("Strict mode: Offset " + at + " block status mismatch!");
                    return 1;
                }
                if (!(ea.zero() && eb.zero())) {
                    MemorySegment sa = bufA.asSlice(0, len);
                    MemorySegment sb = bufB.asSlice(0, len);
                    Await.get(a.read(at, sa), first + ": read at offset " + at);
                    Await.get(b.read(at, sb), second + ": read at offset " + at);
                    long mismatch = Buffers.firstMismatchSector(sa, sb);
                    if (mismatch >= 0) {
                        bar.finish();
                        say("Content mismatch at offset " + (at + mismatch) + "!");
                        return 1;
                    }
                }
                at += len;
                bar.update(at);
            }
            BlockDevice longer = a.size() > b.size() ? a : b;
            Path longerName = longer == a ? first : second;
            for (long at = common; at < longer.size(); ) {
                long len = Math.min(CHUNK, longer.size() - at);
                Extent e = firstExtent(longer, at, len);
                len = Math.min(len, e.end() - at);
                if (!e.zero()) {
                    MemorySegment s = bufA.asSlice(0, len);
                    Await.get(longer.read(at, s), longerName + ": read at offset " + at);
                    long nonZero = Buffers.firstNonZeroSector(s);
                    if (nonZero >= 0) {
                        bar.finish();
                        say("Content mismatch at offset " + (at + nonZero) + "!");
                        return 1;
                    }
                }
                at += len;
                bar.update(at);
            }
            bar.finish();
            say("Images are identical.");
            return 0;
        }
    }

    private static Extent firstExtent(BlockDevice device, long at, long len) throws IOException {
        List<Extent> extents = Await.get(device.blockStatus(at, len), "block status at offset " + at);
        if (extents.isEmpty()) {
            throw new IOException("block status at offset " + at + " returned no extents");
        }
        return extents.getFirst();
    }

    private BlockDevice open(Path file, String format) {
        return Images.open(file, format, true, forceShare);
    }

    private void say(String line) {
        if (!quiet) {
            out().println(line);
        }
    }
}
