package io.jblk.cli;

import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.jblk.cli.CliFixtures.DIR;
import static io.jblk.cli.CliFixtures.IMAGE;
import static io.jblk.cli.CliFixtures.IMAGE2;
import static io.jblk.cli.CliFixtures.JUNK;
import static io.jblk.cli.CliFixtures.MISSING;
import static io.jblk.cli.CliFixtures.READ_ONLY;
import static io.jblk.cli.CliFixtures.READ_ONLY_DIR;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Generates the black-box cases from jblk's command table ({@link Main#commandLine()}): every subcommand with every
 * kind of bad input its options and parameters can take. Which parameter is an image, a size or an output comes from
 * the parameter labels of the table; what a valid call looks like comes from {@link #TEMPLATES}, one per subcommand
 * (a subcommand without one fails the sweep, so a new command cannot go untested).
 */
final class CliSweep {
    static final String QEMU_IMG = "qemu-img";
    static final String QEMU_IO = "qemu-io";

    /** Parameter labels of sizes, offsets and lengths (they go through qemu's size syntax). */
    private static final Set<String> SIZE_LABELS = Set.of("size", "offset", "length", "step", "SIZE", "[+|-]SIZE");

    /** Placeholders of a template, replaced by file names. */
    private static final String IMG = "{IMG}";
    private static final String IMG2 = "{IMG2}";
    private static final String OUT = "{OUT}";
    private static final String RO = "{RO}";
    /** A positional size with its valid value: "{SIZE=1M}". */
    private static final String SIZE_SLOT = "{SIZE=";

    /**
     * A valid call of a subcommand over the fixtures.
     *
     * @param args     the arguments, with placeholders for files and positional sizes
     * @param qemuTool the QEMU tool that takes the same arguments, or null
     * @param jblkOnly arguments only jblk takes, appended to jblk's command line (never QEMU's)
     * @param writer   a call that must write its image, on {@link #RO}, or null when the command never writes one
     */
    record Template(List<String> args, String qemuTool, List<String> jblkOnly, List<String> writer) {
    }

    static final Map<String, Template> TEMPLATES = new LinkedHashMap<>();

    static {
        TEMPLATES.put("create", new Template(List.of("-f", "qcow2", OUT, "{SIZE=1M}"), QEMU_IMG, List.of(), null));
        TEMPLATES.put("info", new Template(List.of(IMG), QEMU_IMG, List.of(), null));
        TEMPLATES.put("map", new Template(List.of(IMG), QEMU_IMG, List.of(), null));
        TEMPLATES.put("compare", new Template(List.of(IMG, IMG2), QEMU_IMG, List.of(), null));
        TEMPLATES.put("io", new Template(List.of("-c", "read 0 512", IMG), QEMU_IO, List.of(),
                List.of("-c", "write 0 512", RO)));
        TEMPLATES.put("check", new Template(List.of(IMG), QEMU_IMG, List.of(), List.of("-r", "all", RO)));
        TEMPLATES.put("resize", new Template(List.of(IMG, "{SIZE=2M}"), QEMU_IMG, List.of(), List.of(RO, "2M")));
        TEMPLATES.put("convert", new Template(List.of("-O", "raw", IMG, OUT), QEMU_IMG, List.of(),
                List.of("-n", "-O", "qcow2", IMG, RO)));
        TEMPLATES.put("bench", new Template(List.of("-c", "1", IMG), QEMU_IMG, List.of("--warmup", "0"),
                List.of("-w", "-c", "1", RO)));
        TEMPLATES.put("demo", new Template(List.of("--no-qemu", "-n", "1", "-d", "1", "--cluster-sizes", "16k",
                "--size", "1M", "--dir", OUT), null, List.of(), null));
        TEMPLATES.put("snapshot", new Template(List.of("-l", IMG), QEMU_IMG, List.of(), null));
        // serve runs until killed when the image opens: only calls that fail before serving use this template
        TEMPLATES.put("serve", new Template(List.of("-k", "s.sock", IMG), null, List.of(), null));
    }

    /** Bad sizes every size parameter gets; the full sweep adds more. */
    private static final List<String> BAD_SIZES = List.of("-1", "abc", "9E", "1.5");
    /** (Not "0x10k": qemu-img 7.2 takes it with a warning, jblk refuses it; see docs/cli.md.) */
    private static final List<String> MORE_BAD_SIZES = List.of("99999999999999999999", "1kB", " 1 M", ".5k", "--1");
    /** Bad pattern bytes for qemu-io's -P and qemu-img bench's --pattern. */
    private static final List<String> BAD_PATTERNS = List.of("0x1ff", "256", "-1", "abc");
    private static final List<String> MORE_BAD_PATTERNS = List.of("0x", "1.5", "0x100", "1e2");

    private final boolean full;
    private final List<CliCase> cases = new ArrayList<>();
    private final Map<String, CommandSpec> commands = new LinkedHashMap<>();

    private CliSweep(boolean full) {
        this.full = full;
        Map<CommandLine, Boolean> seen = new IdentityHashMap<>();
        for (CommandLine sub : Main.commandLine().getSubcommands().values()) {
            if (seen.put(sub, true) == null && !sub.getCommandSpec().helpCommand()) {
                commands.put(sub.getCommandSpec().name(), sub.getCommandSpec());
            }
        }
    }

    /** The subcommands of the table, by name (aliases folded). */
    static Map<String, CommandSpec> commands() {
        return new CliSweep(false).commands;
    }

    static List<CliCase> cases(boolean full) {
        CliSweep sweep = new CliSweep(full);
        sweep.help();
        for (Map.Entry<String, CommandSpec> e : sweep.commands.entrySet()) {
            Template t = TEMPLATES.get(e.getKey());
            if (t == null) {
                throw new AssertionError("subcommand '" + e.getKey() + "' has no template in CliSweep.TEMPLATES: "
                        + "add a valid call of it so the black-box sweep covers it");
            }
            sweep.images(e.getKey(), e.getValue(), t);
            sweep.readOnly(e.getKey(), t);
            sweep.outputs(e.getKey(), t);
            sweep.sizes(e.getKey(), e.getValue(), t);
            sweep.numbers(e.getKey(), e.getValue(), t);
            sweep.parser(e.getKey(), t);
        }
        sweep.ioRequests();
        sweep.patterns();
        sweep.debug();
        sweep.createBacking();
        return sweep.cases;
    }

    // ---- help and version -------------------------------------------------------------------------------------

    /** "jblk CMD --help", "jblk CMD -h" and "jblk help CMD" print the same usage, naming every option of CMD. */
    private void help() {
        for (Map.Entry<String, CommandSpec> e : commands.entrySet()) {
            String cmd = e.getKey();
            List<String> names = new ArrayList<>();
            for (OptionSpec option : e.getValue().options()) {
                names.add(option.longestName());
            }
            // qemu-img resize takes its last argument as the size before reading options: "--help" is refused there
            List<String> qemuHelp = cmd.equals("resize") ? null : qemuCommand(cmd, List.of("--help"));
            for (List<String> form : List.of(List.of(cmd, "--help"), List.of(cmd, "-h"), List.of("help", cmd))) {
                add(new CliCase("help: jblk " + String.join(" ", form), form).exit(0)
                        .qemu(qemuHelp).sameStdoutAs("usage of " + cmd)
                        .check((r, dir) -> {
                            assertTrue(r.stdout().startsWith("Usage: jblk " + cmd), r.transcript());
                            for (String name : names) {
                                assertTrue(r.stdout().contains(name), "usage lacks " + name + "\n" + r.transcript());
                            }
                        }));
            }
        }
        for (List<String> form : List.of(List.of("--help"), List.of("-h"), List.of("help"))) {
            add(new CliCase("help: jblk " + form.getFirst(), form).exit(0)
                    .qemu(List.of(QEMU_IMG, "--help")).sameStdoutAs("usage of jblk")
                    .check((r, dir) -> {
                        for (String cmd : commands.keySet()) {
                            assertTrue(r.stdout().contains(cmd), "top usage lacks " + cmd + "\n" + r.transcript());
                        }
                    }));
        }
        for (List<String> form : List.of(List.of("--version"), List.of("-V"), List.of("info", "--version"))) {
            add(new CliCase("version: jblk " + String.join(" ", form), form).exit(0)
                    .qemu(List.of(QEMU_IMG, "--version")).mentions("jblk 0."));
        }
    }

    // ---- image arguments ---------------------------------------------------------------------------------------

    /** Every image parameter given a missing file, a directory, and (first image, with -f qcow2) a text file. */
    private void images(String cmd, CommandSpec spec, Template t) {
        int error = cmd.equals("compare") ? 2 : 1;
        for (String slot : List.of(IMG, IMG2)) {
            if (!t.args().contains(slot)) {
                continue;
            }
            for (String bad : List.of(MISSING, DIR)) {
                add(call(cmd, t, slot + "=" + bad, replace(t.args(), slot, bad), t.qemuTool() != null)
                        .exit(error).mentions(bad));
            }
        }
        if (t.args().contains(IMG) && spec.findOption("-f") != null) {
            List<String> args = new ArrayList<>(List.of("-f", "qcow2"));
            args.addAll(replace(t.args(), IMG, JUNK));
            add(call(cmd, t, "-f qcow2 on a text file", args, t.qemuTool() != null).exit(error)
                    .mentions(JUNK).mentions("qcow2"));
        }
    }

    /** Calls that must write their image, on a file that cannot be written. */
    private void readOnly(String cmd, Template t) {
        if (t.writer() == null) {
            return;
        }
        add(call(cmd, t, "writing " + READ_ONLY, replace(t.writer(), RO, READ_ONLY), true).needsReadOnlyFixtures()
                .fails().mentions("ro.qcow2"));
    }

    /** Outputs in a folder that cannot be written, in a folder that does not exist, and onto a directory. */
    private void outputs(String cmd, Template t) {
        if (!t.args().contains(OUT) || cmd.equals("demo")) {
            return; // demo's output is a work folder it creates, not a file
        }
        for (String bad : List.of(READ_ONLY_DIR + "/out.img", "nodir/out.img", DIR)) {
            CliCase c = add(call(cmd, t, "output " + bad, replace(t.args(), OUT, bad), true).fails().mentions(bad));
            if (bad.startsWith(READ_ONLY_DIR)) {
                c.needsReadOnlyFixtures();
            }
        }
    }

    // ---- sizes and numbers -------------------------------------------------------------------------------------

    /**
     * Every size-valued option and positional parameter (by label) with every bad size: refused, naming the text
     * (a relative resize by "-1" is valid syntax: it is refused for shrinking without --shrink).
     */
    private void sizes(String cmd, CommandSpec spec, Template t) {
        List<String> values = new ArrayList<>(BAD_SIZES);
        if (full) {
            values.addAll(MORE_BAD_SIZES);
        }
        long slots = t.args().stream().filter(a -> a.startsWith(SIZE_SLOT)).count();
        long sizeParameters = spec.positionalParameters().stream()
                .filter(p -> SIZE_LABELS.contains(p.paramLabel())).count();
        if (slots != sizeParameters) {
            throw new AssertionError(cmd + ": the template has " + slots + " {SIZE=..} slots but the command "
                    + sizeParameters + " size parameters");
        }
        for (String value : values) {
            if (slots > 0) {
                List<String> args = t.args().stream().map(a -> a.startsWith(SIZE_SLOT) ? value : a).toList();
                CliCase c = add(call(cmd, t, "SIZE=" + value, args, true).fails());
                if (cmd.equals("resize") && value.equals("-1")) {
                    c.mentions("shrink");
                } else {
                    c.mentions(value.strip());
                }
            }
            for (OptionSpec option : spec.options()) {
                if (SIZE_LABELS.contains(option.paramLabel())) {
                    add(call(cmd, t, option.longestName() + " " + value, withOption(t.args(), option, value),
                            true).fails().mentions(value.strip()));
                }
            }
        }
    }

    /** Every integer-valued option given a word: refused by the parser, naming the word. */
    private void numbers(String cmd, CommandSpec spec, Template t) {
        for (OptionSpec option : spec.options()) {
            Class<?> type = option.type();
            if (type == int.class || type == long.class || type == Integer.class || type == Long.class) {
                add(call(cmd, t, option.longestName() + " ten", withOption(t.args(), option, "ten"),
                        !cmd.equals("demo") && !cmd.equals("serve") && !option.longestName().startsWith("--"))
                        .exit(1).mentions("ten"));
            }
        }
    }

    /**
     * qemu-io's offsets and lengths, one run per bad value with each request kind; and requests too large for the
     * image or for any buffer, under a virtual memory limit so that allocating before checking fails the case.
     */
    private void ioRequests() {
        List<String> values = new ArrayList<>(BAD_SIZES);
        if (full) {
            values.addAll(MORE_BAD_SIZES);
        }
        for (String v : values) {
            List<String> args = new ArrayList<>();
            for (String request : List.of("read " + v + " 512", "read 0 " + v, "write " + v + " 512",
                    "write 0 " + v, "discard " + v + " 512", "discard 0 " + v, "alloc " + v)) {
                args.addAll(List.of("-c", request));
            }
            args.add(IMAGE);
            add(new CliCase("io: requests with " + v, io(args)).qemu(withTool(QEMU_IO, args)).exit(1)
                    .check((r, dir) -> assertFalse(r.stdout().contains("bytes at offset")
                            || r.stdout().contains("allocated at offset"), "a request went through\n" + r.transcript())));
        }
        List<String> huge = List.of("-c", "read 0 9223372036854775807", "-c", "read 0 3G", "-c", "read 0 1.5G",
                "-c", "write 0 1.5G", "-c", "read -v 1M 512", "-c", "read -P 0 0 512", IMAGE);
        add(new CliCase("io: requests larger than the image or any buffer, 2 GB address space", io(huge))
                .qemu(withTool(QEMU_IO, huge)).exit(1).addressSpace(2_000_000_000L)
                .mentions("length cannot exceed 2147483136, given 9223372036854775807")
                .mentions("length cannot exceed 2147483136, given 3G")
                .mentions("1610612736 bytes at offset 0 reaches beyond the device size 1048576")
                .check((r, dir) -> assertTrue(r.stdout().contains("read 512/512 bytes at offset 0"),
                        "the valid read after the bad ones must still run\n" + r.transcript())));
        List<String> bench = List.of("bench", "-c", "100", "-d", "64", "-s", "1G", "--warmup", "0", "big.qcow2");
        add(new CliCase("bench: 64 requests of 1 GiB in flight, 2 GB address space", bench).exit(1)
                .addressSpace(2_000_000_000L).setup(CliSweep::bigImage).mentions("lower -d or -s"));
        List<String> demo = List.of("demo", "--no-qemu", "-n", "1", "-d", "100000000", "--dir", "out");
        add(new CliCase("demo: 10^8 writes in flight", demo).exit(1).addressSpace(2_000_000_000L)
                .mentions("--depth"));
    }

    private static void bigImage(Path dir) throws Exception {
        io.jblk.api.BlockDrivers.create(dir.resolve("big.qcow2"), "qcow2",
                io.jblk.api.CreateOptions.builder(4L << 30).build());
    }

    /** Bad pattern bytes: refused before anything is read or written. */
    private void patterns() {
        List<String> values = new ArrayList<>(BAD_PATTERNS);
        if (full) {
            values.addAll(MORE_BAD_PATTERNS);
        }
        for (String v : values) {
            List<String> io = List.of("-c", "read -P " + v + " 0 512", "-c", "write -P " + v + " 0 512",
                    "-c", "read -P 0 0 512", IMAGE);
            add(new CliCase("io: pattern " + v, io(io)).qemu(withTool(QEMU_IO, io)).exit(1)
                    .check((r, dir) -> {
                        assertEquals(2, r.stdout().split("not a valid pattern byte", -1).length - 1,
                                "both bad patterns refused\n" + r.transcript());
                        assertFalse(r.stdout().contains("wrote"), "nothing written\n" + r.transcript());
                        assertFalse(r.stdout().contains("Pattern verification failed"),
                                "the image still reads as zeros\n" + r.transcript());
                    }));
            List<String> bench = List.of("bench", "-w", "-c", "1", "--pattern", v, IMAGE);
            add(new CliCase("bench: --pattern " + v, concat(bench, List.of("--warmup", "0")))
                    .qemu(withTool(QEMU_IMG, bench)).exit(1).mentions(v));
        }
    }

    // ---- the parser --------------------------------------------------------------------------------------------

    /**
     * An unknown option and a surplus argument, for every command: named for what they are (the image is never
     * called an option); and the command without any argument.
     */
    private void parser(String cmd, Template t) {
        List<String> files = List.of(IMAGE, IMAGE2, "out.img");
        List<String> bogus = new ArrayList<>(List.of("--bogus"));
        bogus.addAll(t.args());
        add(call(cmd, t, "unknown option", bogus, true).exit(1).mentions("--bogus")
                .check((r, dir) -> {
                    for (String line : r.stderr().lines().toList()) {
                        for (String file : files) {
                            assertFalse(line.contains("option") && line.contains(file),
                                    "calls the image an option: " + line + "\n" + r.transcript());
                        }
                    }
                }));
        List<String> extra = new ArrayList<>(t.args());
        extra.add("surplus.img");
        add(call(cmd, t, "surplus argument", extra, true).exit(1).mentions("surplus.img")
                .check((r, dir) -> assertFalse(r.stderr().lines().anyMatch(l -> l.contains("option")
                        && l.contains("surplus.img")), "calls an argument an option\n" + r.transcript())));
        // picocli lumped everything it could not place after an unknown option into "Unknown options: '--bogus',
        // 'surplus.img'": an image named among options
        List<String> both = new ArrayList<>(bogus);
        both.add("surplus.img");
        add(call(cmd, t, "unknown option and a surplus argument", both, true).exit(1).mentions("--bogus")
                .check((r, dir) -> assertFalse(r.stderr().lines().anyMatch(l -> l.contains("option")
                        && (l.contains("surplus.img") || l.contains(IMAGE))), "calls an argument an option\n"
                        + r.transcript())));
        if (!cmd.equals("demo")) { // demo without arguments runs the whole demo: every other command needs some
            List<String> none = List.of(cmd);
            add(new CliCase(cmd + ": no arguments", none).exit(1)
                    .qemu(QEMU_IMG.equals(t.qemuTool()) ? List.of(QEMU_IMG, cmd) : null));
        }
    }

    /** --debug shows the stack trace of an error, before or after the subcommand's name. */
    private void debug() {
        add(new CliCase("--debug before the command", List.of("--debug", "info", MISSING)).exit(1).expectsTrace());
        add(new CliCase("--debug after the command", List.of("info", "--debug", MISSING)).exit(1).expectsTrace());
    }

    // ---- create's backing file ---------------------------------------------------------------------------------

    /**
     * An image cannot become its own backing file, however it is named (qemu-img compares names only); a backing
     * file needs its format (qemu-img 7.2), and a format needs a backing file.
     */
    private void createBacking() {
        CliCase.Check unchanged = (r, dir) -> assertArrayEquals(Files.readAllBytes(dir.resolve(IMAGE2)),
                Files.readAllBytes(dir.resolve(IMAGE)), "img.qcow2 was changed\n" + r.transcript());
        add(new CliCase("create: -b is the image itself", List.of("create", "-f", "qcow2", "-b", IMAGE, "-F", "qcow2",
                IMAGE)).qemu(List.of(QEMU_IMG, "create", "-f", "qcow2", "-b", IMAGE, "-F", "qcow2", IMAGE))
                .exit(1).mentions("backing").check(unchanged));
        // qemu-img 7.2 takes these two and writes an image that cannot be opened
        add(new CliCase("create: -b ./ names the image itself", List.of("create", "-f", "qcow2", "-b", "./" + IMAGE,
                "-F", "qcow2", IMAGE)).exit(1).mentions("backing").check(unchanged));
        add(new CliCase("create: -b is a link to the image", List.of("create", "-f", "qcow2", "-b", "link.qcow2",
                "-F", "qcow2", IMAGE)).exit(1).mentions("backing").check(unchanged)
                .setup(dir -> Files.createSymbolicLink(dir.resolve("link.qcow2"), Path.of(IMAGE))));
        add(new CliCase("create: the backing file's chain holds the image", List.of("create", "-f", "qcow2", "-b",
                "mid.qcow2", "-F", "qcow2", IMAGE)).exit(1).mentions("mid.qcow2").check(unchanged)
                .setup(dir -> io.jblk.api.BlockDrivers.create(dir.resolve("mid.qcow2"), "qcow2",
                        io.jblk.api.CreateOptions.builder(1 << 20).backingFile(IMAGE, "qcow2").build())));
        add(new CliCase("create -u: the new image names itself", List.of("create", "-f", "qcow2", "-u", "-b",
                "new.qcow2", "-F", "qcow2", "new.qcow2", "1M")).qemu(List.of(QEMU_IMG, "create", "-f", "qcow2", "-u",
                "-b", "new.qcow2", "-F", "qcow2", "new.qcow2", "1M")).exit(1).mentions("backing")
                .check((r, dir) -> assertFalse(Files.exists(dir.resolve("new.qcow2")), r.transcript())));
        List<String> noFormat = List.of("create", "-f", "qcow2", "-b", IMAGE, "new.qcow2");
        add(new CliCase("create: -b without -F", noFormat).qemu(withTool(QEMU_IMG, noFormat)).exit(1)
                .mentions("backing format").mentions("qcow2")
                .check((r, dir) -> assertFalse(Files.exists(dir.resolve("new.qcow2")), r.transcript())));
        List<String> onlyFormat = List.of("create", "-f", "qcow2", "-F", "qcow2", "new.qcow2", "1M");
        add(new CliCase("create: -F without -b", onlyFormat).qemu(withTool(QEMU_IMG, onlyFormat)).exit(1)
                .mentions("backing file"));
    }

    // ---- helpers -----------------------------------------------------------------------------------------------

    private CliCase add(CliCase c) {
        cases.add(c);
        return c;
    }

    /** A case calling {@code cmd} with {@code args} (placeholders left become the fixtures' names). */
    private static CliCase call(String cmd, Template t, String what, List<String> args, boolean compareWithQemu) {
        List<String> qemuArgs = fill(args);
        List<String> jblk = new ArrayList<>(List.of(cmd));
        jblk.addAll(qemuArgs);
        for (int i = 0; i + 1 < t.jblkOnly().size(); i += 2) {
            if (!qemuArgs.contains(t.jblkOnly().get(i))) { // an option the case sets itself is not set twice
                jblk.addAll(t.jblkOnly().subList(i, i + 2));
            }
        }
        CliCase c = new CliCase(cmd + ": " + what, jblk);
        if (compareWithQemu && t.qemuTool() != null) {
            c.qemu(qemuCommand(cmd, qemuArgs, t.qemuTool()));
        }
        return c;
    }

    private static List<String> qemuCommand(String cmd, List<String> args) {
        Template t = TEMPLATES.get(cmd);
        return t == null || t.qemuTool() == null ? null : qemuCommand(cmd, args, t.qemuTool());
    }

    private static List<String> qemuCommand(String cmd, List<String> args, String tool) {
        List<String> command = new ArrayList<>(List.of(tool));
        if (tool.equals(QEMU_IMG)) {
            command.add(cmd);
        }
        command.addAll(args);
        return command;
    }

    /** {@code tool} followed by {@code args}: QEMU's command for a jblk command line that names no subcommand. */
    private static List<String> withTool(String tool, List<String> args) {
        List<String> command = new ArrayList<>(List.of(tool));
        command.addAll(args);
        return command;
    }

    private static List<String> fill(List<String> args) {
        return args.stream().map(a -> switch (a) {
            case IMG -> IMAGE;
            case IMG2 -> IMAGE2;
            case OUT -> "out.img";
            default -> a.startsWith(SIZE_SLOT) ? a.substring(SIZE_SLOT.length(), a.length() - 1) : a;
        }).toList();
    }

    private static List<String> replace(List<String> args, String placeholder, String value) {
        return args.stream().map(a -> a.equals(placeholder) ? value : a).toList();
    }

    /** The template with {@code option} set to {@code value}: replaced where the template sets it, else first. */
    private static List<String> withOption(List<String> args, OptionSpec option, String value) {
        List<String> out = new ArrayList<>(args);
        for (String name : option.names()) {
            int at = out.indexOf(name);
            if (at >= 0 && at + 1 < out.size()) {
                out.set(at + 1, value);
                return out;
            }
        }
        out.addAll(0, List.of(option.longestName(), value));
        return out;
    }

    /** "jblk io ARGS" for qemu-io's ARGS. */
    private static List<String> io(List<String> args) {
        return concat(List.of("io"), args);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> out = new ArrayList<>(a);
        out.addAll(b);
        return out;
    }
}
