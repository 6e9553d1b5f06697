package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
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
    @Option(names = {"-i", "--aio"}, paramLabel = "engine", description = "I/O engine: auto, io_uring or threads")
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
            case "read", "r" -> read(device, Getopt.parse("read", args, Set.of('P', 's', 'l'), "qvC", 2));
            case "write", "w" -> write(device, Getopt.parse("write", args, Set.of('P'), "qzufC", 2));
            case "discard" -> discard(device, Getopt.parse("discard", args, Set.of(), "qC", 2));
            case "flush" -> call(device.flush(), "flush");
            case "map" -> map(device);
            case "alloc" -> alloc(device, Getopt.parse("alloc", args, Set.of(), "", 1));
            default -> throw new CommandFailed("command \"" + name + "\" not found", true);
        }
    }

    private void read(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        long length = o.number(1);
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = Buffers.allocate(arena, length).asSlice(0, length);
            long start = System.nanoTime();
            call(device.read(offset, buf), "read");
            double seconds = (System.nanoTime() - start) / 1e9;
            boolean mismatch = false;
            if (o.value('P') != null) {
                byte pattern = (byte) o.pattern('P');
                long from = o.value('s') == null ? 0 : Sizes.parse(o.value('s'));
                long len = o.value('l') == null ? length - from : Sizes.parse(o.value('l'));
                MemorySegment checked = buf.asSlice(from, len);
                for (long i = 0; i < len; i++) {
                    if (checked.get(ValueLayout.JAVA_BYTE, i) != pattern) {
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
        long length = o.number(1);
        if (o.flag('u') && !o.flag('z')) {
            throw new CommandFailed("-u requires -z to be specified");
        }
        long start = System.nanoTime();
        if (o.flag('z')) {
            call(device.writeZeroes(offset, length, o.flag('u')), "write");
        } else {
            try (Arena arena = Arena.ofShared()) {
                MemorySegment buf = Buffers.allocate(arena, length).asSlice(0, length);
                buf.fill((byte) (o.value('P') == null ? 0xcd : o.pattern('P')));
                call(device.write(offset, buf, o.flag('f')), "write");
            }
        }
        if (!o.flag('q')) {
            out().println(QemuIoText.report("wrote", offset, length, 1, (System.nanoTime() - start) / 1e9));
        }
    }

    private void discard(BlockDevice device, Getopt o) throws CommandFailed {
        long offset = o.number(0);
        long length = o.number(1);
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
        long length = o.args.size() > 1 ? o.number(1) : 512;
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

        static Getopt parse(String command, List<String> words, Set<Character> valued, String flags, int minArgs)
                throws CommandFailed {
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
            if (g.args.size() < minArgs) {
                throw new CommandFailed("bad argument count " + g.args.size() + " to " + command
                        + ", expected at least " + minArgs + " arguments", true);
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
            String text = args.get(index);
            try {
                return Sizes.parse(text);
            } catch (IllegalArgumentException e) {
                throw new CommandFailed("Parsing error: non-numeric argument, or extraneous/unrecognized suffix -- "
                        + text);
            }
        }

        int pattern(char c) throws CommandFailed {
            try {
                return Integer.decode(values.get(c));
            } catch (NumberFormatException e) {
                throw new CommandFailed("Parsing error: non-numeric argument -- " + values.get(c));
            }
        }
    }
}
