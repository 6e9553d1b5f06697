package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
import io.jblk.api.InvalidRequestException;
import io.jblk.api.RequestChecks;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A qemu-io subset for scripts and tests: {@code jblk io [-f fmt] [-r] -c CMD... FILE}. Commands run in order;
 * output lines and failure messages are worded like qemu-io's. Exits 1 when any command failed.
 */
@Command(name = "io", description = "Run qemu-io style commands (read, write, discard, flush, map, alloc) on an image.")
final class IoCommand extends Subcommand {
    /**
     * The largest read, write or discard, as qemu-io's (its block layer's BDRV_REQUEST_MAX_BYTES: INT_MAX rounded
     * down to 512): a request is refused before its buffer is allocated.
     */
    static final long MAX_REQUEST_BYTES = (Integer.MAX_VALUE >> 9) << 9;

    @Option(names = "-f", paramLabel = "fmt", description = "image format (probed when absent)")
    String format;
    @Option(names = "-c", paramLabel = "CMD", required = true, description = "a command; may be repeated")
    List<String> commands;
    @Option(names = {"-r", "--read-only"}, description = "open the image read-only")
    boolean readOnly;
    @Option(names = {"-U", "--force-share"}, description = "force shared permissions: open even while another process writes the image (read-only opens only)")
    boolean forceShare;
    @Option(names = {"-t", "--cache"}, paramLabel = "mode", description = "cache mode: none or writeback")
    String cache;
    @Option(names = {"-i", "--aio"}, paramLabel = "engine", description = "I/O engine: threads, native or io_uring (native = io_uring, "
            + "jblk's kernel-asynchronous engine), or auto (io_uring where the kernel allows it, else threads)")
    String engine;
    @Mixin
    ConfinementOptions confinement;
    @Parameters(index = "0", paramLabel = "FILE")
    Path file;

    /** A command failed in a way qemu-io reports on its own line; the run goes on but exits 1. */
    private static final class CommandFailed extends Exception {
        final boolean toStderr;

        CommandFailed(String message) {
            this(message, false);
        }

        CommandFailed(String message, boolean toStderr) {
            super(message);
            this.toStderr = toStderr;
        }
    }

    @Override
    public Integer call() throws IOException {
        boolean failed = false;
        try (BlockDevice device = Images.open(file, format, Images.options(readOnly, forceShare)
                .confinement(confinement.confinement(false)), cache, engine)) {
            Images.warnIfProbedRaw(err(), file, format, device);
            for (String line : commands) {
                List<String> words = new ArrayList<>(Arrays.asList(line.trim().split("\\s+")));
                if (words.isEmpty() || words.getFirst().isEmpty()) {
                    continue;
                }
                try {
                    run(device, words.removeFirst(), words);
                } catch (CommandFailed e) {
                    if (!e.getMessage().isEmpty()) {
                        (e.toStderr ? err() : out()).println(e.getMessage());
                    }
                    failed = true;
                }
            }
        }
        return failed ? 1 : 0;
    }

    private void run(BlockDevice device, String name, List<String> args) throws CommandFailed {
        switch (name) {
            case "read", "r" -> read(device, Getopt.parse("read", args, Set.of('P', 's', 'l'), "qvC", 2, 2));
            case "write", "w" -> write(device, Getopt.parse("write", args, Set.of('P'), "qzufC", 2, 2));
            case "discard" -> discard(device, Getopt.parse("discard", args, Set.of(), "qC", 2, 2));
            case "flush" -> {
                Getopt.parse("flush", args, Set.of(), "", 0, 0);
                call(device.flush(), "flush");
            }
            case "map" -> {
                Getopt.parse("map", args, Set.of(), "", 0, 0);
                map(device);
            }
            case "alloc" -> alloc(device, Getopt.parse("alloc", args, Set.of(), "", 1, 2));
            default -> throw new CommandFailed("command \"" + name + "\" not found", true);
        }
    }

    private void read(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        long length = o.length(1);
        Integer pattern = o.value('P') == null ? null : o.pattern('P');
        long from = 0;
        long len = length;
        if (pattern != null) {
            from = o.value('s') == null ? 0 : o.number(o.value('s'));
            len = o.value('l') == null ? length - from : o.number(o.value('l'));
            if (from > length || len > length - from || len < 0) {
                throw new CommandFailed("pattern verification range exceeds end of read data");
            }
        } else if (o.value('s') != null || o.value('l') != null) {
            throw new CommandFailed("read: -s and -l need -P (the pattern to verify)");
        }
        checkRange(device, "read", offset, length);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = Buffers.allocate(arena, length).asSlice(0, length);
            long start = System.nanoTime();
            call(device.read(offset, buf), "read");
            double seconds = (System.nanoTime() - start) / 1e9;
            boolean mismatch = false;
            if (pattern != null) {
                MemorySegment checked = buf.asSlice(from, len);
                for (long i = 0; i < len; i++) {
                    if (checked.get(ValueLayout.JAVA_BYTE, i) != (byte) (int) pattern) {
                        out().println("Pattern verification failed at offset " + (offset + from) + ", " + len + " bytes");
                        mismatch = true;
                        break;
                    }
                }
            }
            if (o.flag('v')) {
                dump(out(), buf, offset);
            }
            if (!o.flag('q')) {
                out().println(QemuIoText.report("read", offset, length, 1, seconds));
            }
            if (mismatch) {
                throw new CommandFailed("");
            }
        }
    }

    private void write(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        long length = o.length(1);
        if (o.flag('z') && o.value('P') != null) {
            throw new CommandFailed("Only one of -z, -P, and -s can be specified at the same time");
        }
        if (o.flag('u') && !o.flag('z')) {
            throw new CommandFailed("-u requires -z to be specified");
        }
        byte fill = (byte) (o.value('P') == null ? 0xcd : o.pattern('P'));
        checkRange(device, "write", offset, length);
        long start = System.nanoTime();
        if (o.flag('z')) {
            call(device.writeZeroes(offset, length, o.flag('u')), "write");
        } else {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment buf = Buffers.allocate(arena, length).asSlice(0, length);
                buf.fill(fill);
                call(device.write(offset, buf, o.flag('f')), "write");
            }
        }
        if (!o.flag('q')) {
            out().println(QemuIoText.report("wrote", offset, length, 1, (System.nanoTime() - start) / 1e9));
        }
    }

    /**
     * The device's own range check, made before a buffer is allocated: a request past the end fails as it would in
     * the driver ("read failed: read of ... reaches beyond the device size ..."), without first allocating its length.
     */
    private static void checkRange(BlockDevice device, String verb, long offset, long length) throws CommandFailed {
        try {
            RequestChecks.checkRange(verb, offset, length, device.size());
        } catch (InvalidRequestException e) {
            throw new CommandFailed(verb + " failed: " + e.getMessage());
        }
    }

    private void discard(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        long length = o.length(1);
        long start = System.nanoTime();
        call(device.discard(offset, length), "discard");
        if (!o.flag('q')) {
            out().println(QemuIoText.report("discard", offset, length, 1, (System.nanoTime() - start) / 1e9));
        }
    }

    /** qemu-io's map: runs allocated in this image (not the backing chain) and runs that are not. */
    private void map(BlockDevice device) throws CommandFailed {
        List<long[]> runs = new ArrayList<>(); // {offset, length, allocated}
        try {
            ExtentMap.walk(device, 0, device.size(), e -> {
                long allocated = allocatedHere(e) ? 1 : 0;
                long[] last = runs.isEmpty() ? null : runs.getLast();
                if (last != null && last[2] == allocated) {
                    last[1] += e.length();
                } else {
                    runs.add(new long[]{e.offset(), e.length(), allocated});
                }
            });
        } catch (IOException e) {
            throw new CommandFailed("map failed: " + Images.describe(e));
        }
        for (long[] r : runs) {
            out().println(QemuIoText.cvtstr(r[1]) + " (0x" + Long.toHexString(r[1]) + ") bytes "
                    + (r[2] == 1 ? "   " : "not") + " allocated at offset " + QemuIoText.cvtstr(r[0])
                    + " (0x" + Long.toHexString(r[0]) + ")");
        }
    }

    private void alloc(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        // as qemu-io: the length is cut at the end of the image (nothing is left past it)
        long length = Math.min(o.args.size() > 1 ? o.number(1) : 512, Math.max(0, device.size() - offset));
        long[] allocated = {0};
        try {
            ExtentMap.walk(device, offset, length, e -> {
                if (allocatedHere(e)) {
                    allocated[0] += e.length();
                }
            });
        } catch (IOException e) {
            throw new CommandFailed("alloc failed: " + Images.describe(e));
        }
        out().println(allocated[0] + "/" + length + " bytes allocated at offset " + QemuIoText.cvtstr(offset));
    }

    static boolean allocatedHere(Extent e) {
        return e.present() && e.depth() == 0;
    }

    private static <T> T call(java.util.concurrent.CompletableFuture<T> request, String verb) throws CommandFailed {
        try {
            return Await.get(request, verb);
        } catch (IOException e) {
            Throwable cause = e.getCause() == null ? e : e.getCause();
            throw new CommandFailed(verb + " failed: " + Images.describe(cause));
        }
    }

    /** qemu-io's -v dump: 16 bytes a line, hex then the letters and digits among them. */
    static void dump(PrintWriter out, MemorySegment buf, long offset) {
        for (long line = 0; line < buf.byteSize(); line += 16) {
            StringBuilder hex = new StringBuilder(String.format("%08x:  ", offset + line));
            StringBuilder text = new StringBuilder();
            for (long i = line; i < Math.min(buf.byteSize(), line + 16); i++) {
                int b = buf.get(ValueLayout.JAVA_BYTE, i) & 0xff;
                hex.append(String.format("%02x ", b));
                // qemu-io shows letters and digits only
                text.append((b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ? (char) b : '.');
            }
            out.println(hex + " " + text);
        }
    }

    /** getopt for one qemu-io command: flags may be grouped ("-zu"), valued options take the next word. */
    private static final class Getopt {
        final Map<Character, String> values = new HashMap<>();
        final List<String> args = new ArrayList<>();
        final String command;

        private Getopt(String command) {
            this.command = command;
        }

        static Getopt parse(String command, List<String> words, Set<Character> valued, String flags, int minArgs,
                            int maxArgs) throws CommandFailed {
            Getopt g = new Getopt(command);
            for (int i = 0; i < words.size(); i++) {
                String w = words.get(i);
                if (w.startsWith("-") && w.length() > 1 && g.args.isEmpty()) {
                    for (int j = 1; j < w.length(); j++) {
                        char c = w.charAt(j);
                        if (valued.contains(c)) {
                            String v = j + 1 < w.length() ? w.substring(j + 1) : (++i < words.size() ? words.get(i) : null);
                            if (v == null) {
                                throw new CommandFailed(command + ": option requires an argument -- '" + c + "'");
                            }
                            g.values.put(c, v);
                            break;
                        } else if (flags.indexOf(c) >= 0) {
                            g.values.put(c, "");
                        } else {
                            throw new CommandFailed(command + ": invalid option -- '" + c + "'");
                        }
                    }
                } else {
                    g.args.add(w);
                }
            }
            if (g.args.size() < minArgs || g.args.size() > maxArgs) {
                // qemu-io's wording: "expected 0", "expected between 1 and 2", and "at least 2" for read, write and
                // discard (which take no more either, but qemu-io says so with a usage line)
                String expected = minArgs < maxArgs ? "between " + minArgs + " and " + maxArgs
                        : minArgs == 0 ? "0" : g.args.size() < minArgs ? "at least " + minArgs : "at most " + maxArgs;
                throw new CommandFailed("bad argument count " + g.args.size() + " to " + command
                        + ", expected " + expected + " arguments", true);
            }
            return g;
        }

        boolean flag(char c) {
            return values.containsKey(c);
        }

        String value(char c) {
            return values.get(c);
        }

        long number(int index) throws CommandFailed {
            return number(args.get(index));
        }

        /** qemu-io's cvtnum and its two messages. */
        long number(String text) throws CommandFailed {
            try {
                return Sizes.parse(text);
            } catch (Sizes.InvalidSizeException e) {
                throw new CommandFailed(e.tooLarge() ? "Parsing error: argument too large -- " + text
                        : "Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- " + text);
            }
        }

        /**
         * A request length, bounded as qemu-io bounds it (the block layer's largest request) before anything is
         * allocated for it.
         */
        long length(int index) throws CommandFailed {
            long length = number(index);
            if (length > MAX_REQUEST_BYTES) {
                throw new CommandFailed("length cannot exceed " + MAX_REQUEST_BYTES + ", given " + args.get(index));
            }
            return length;
        }

        /** A pattern byte as qemu-io takes it: C's strtol with base 0 (0x hex, 0 octal, a sign), 0 to 255. */
        int pattern(char c) throws CommandFailed {
            String text = values.get(c);
            try {
                long value = Long.decode(text);
                if (value >= 0 && value <= 0xff) {
                    return (int) value;
                }
            } catch (NumberFormatException e) {
                // fall through to qemu-io's message
            }
            throw new CommandFailed(text + " is not a valid pattern byte");
        }
    }
}
