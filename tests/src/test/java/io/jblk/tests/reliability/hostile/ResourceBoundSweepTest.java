package io.jblk.tests.reliability.hostile;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Resource bounds under hostile input (issue 14): every qcow2 header field and table entry that names an offset or a
 * count ({@link FieldSweep}) is set to each of its extreme values, and {@code jblk info}, {@code check}, {@code map}
 * and {@code io -r -c 'read 0 64k'} run on the image through the CLI in a child JVM with {@code -Xmx64m}
 * ({@link SweepChild}), so that an allocation proportional to a claimed size fails. For every command:
 * <ul>
 *   <li>it ends within {@link SweepChild#HANG_MILLIS} and allocates at most {@link #ALLOCATION_BOUND} bytes (the
 *       images are a few hundred KiB; a table the header claims can be 32 MiB);</li>
 *   <li>nothing escapes it and no stack trace is printed; exit code 1 comes with a {@code jblk: } message;</li>
 *   <li>and the verdict is QEMU's where jblk gives one: jblk's info never accepts an image qemu-img info refuses,
 *       and a check that ran (exit 0, 2 or 3) has qemu-img check's exit code.</li>
 * </ul>
 * {@code -Djblk.sweep.only=TEXT} runs the cases whose name contains TEXT (e.g. {@code "L1 entry"});
 * {@code -Djblk.sweep=full} sweeps more values per field.
 */
class ResourceBoundSweepTest {
    /** Bytes one command may allocate: 64 times the largest image, far below a claimed table of 32 MiB + a copy. */
    static final long ALLOCATION_BOUND = 24L << 20;
    /** {@code -Djblk.sweep=full}: more values per field (about 700 images instead of about 450). */
    private static final boolean FULL = "full".equals(System.getProperty("jblk.sweep"));

    @TempDir
    Path dir;

    record Line(String name, String command, int code, long millis, long allocated, String stdout, String stderr) {
        static Line parse(String text) {
            String[] f = text.split("\t", -1);
            Base64.Decoder d = Base64.getDecoder();
            return new Line(f[0], f[1], Integer.parseInt(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
                    new String(d.decode(f[5]), StandardCharsets.UTF_8), new String(d.decode(f[6]), StandardCharsets.UTF_8));
        }
    }

    @Test
    void everyOffsetAndCountAtExtremeValuesStaysBoundedAndAnswersLikeQemu() throws Exception {
        Path results = dir.resolve("results.tsv");
        Path work = Files.createDirectories(dir.resolve("images"));
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-Xmx64m", "-XX:+UseSerialGC",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                SweepChild.class.getName(), work.toString(), results.toString()));
        command.add(FULL ? "full" : "quick");
        command.add(System.getProperty("jblk.sweep.only", ""));
        ExternalTool.Result child = ExternalTool.run(command);
        List<Line> lines = Files.readAllLines(results).stream().map(Line::parse).toList();
        assertTrue(child.exitCode() == 0, "the sweep's JVM ended with " + child.exitCode() + (child.exitCode()
                == SweepChild.HUNG_EXIT ? " (a command hung: " + (lines.isEmpty() ? "?" : lines.getLast()) + ")" : "")
                + "\n" + tail(child.stdout()) + child.stderr());

        Map<String, Map<String, Line>> byCase = new LinkedHashMap<>();
        for (Line l : lines) {
            byCase.computeIfAbsent(l.name(), k -> new LinkedHashMap<>()).put(l.command(), l);
        }
        assertTrue(byCase.size() >= FieldSweep.cases(FULL).size() || !System.getProperty("jblk.sweep.only", "").isEmpty(),
                "cases run: " + byCase.size());
        List<String> violations = new ArrayList<>();
        Map<String, Long> millisPerCommand = new java.util.TreeMap<>();
        long maxMillis = 0;
        long maxAllocated = 0;
        int jblkRuns = 0;
        int qemuCompared = 0;
        for (var entry : byCase.entrySet()) {
            Map<String, Line> runs = entry.getValue();
            for (Line l : runs.values()) {
                millisPerCommand.merge(l.command(), l.millis(), Long::sum);
                if (!l.command().startsWith("jblk ")) {
                    continue;
                }
                jblkRuns++;
                maxMillis = Math.max(maxMillis, l.millis());
                maxAllocated = Math.max(maxAllocated, l.allocated());
                violations.addAll(bounded(l));
            }
            Line qemuCheck = runs.get("qemu-img check");
            Line info = runs.get("jblk info");
            Line check = runs.get("jblk check");
            if (qemuCheck != null) {
                qemuCompared++;
                // qemu-img check opens the backing chain, qemu-img info does not: only the image itself counts.
                boolean qemuOpens = !qemuCheck.stderr().contains("Could not open")
                        || qemuCheck.stderr().contains("Could not open backing file");
                if (!qemuOpens && info.code() == 0) {
                    violations.add(entry.getKey() + ": jblk info accepts what qemu-img refuses to open: "
                            + firstLine(qemuCheck.stderr()));
                }
                if (Set.of(0, 2, 3).contains(check.code()) && check.code() != qemuCheck.code()) {
                    violations.add(entry.getKey() + ": jblk check exits " + check.code() + ", qemu-img check "
                            + qemuCheck.code() + "\n    jblk: " + head(check.stderr()) + "\n    qemu: "
                            + head(qemuCheck.stderr()));
                }
            }
        }
        System.out.printf("[sweep] %d cases, %d jblk commands, %d compared with qemu-img; slowest command %d ms,"
                + " most allocated %.1f MiB%n", byCase.size(), jblkRuns, qemuCompared, maxMillis,
                maxAllocated / 1048576.0);
        System.out.println("[sweep] total milliseconds per command: " + millisPerCommand);
        if (!violations.isEmpty()) {
            fail(violations.size() + " violations:\n" + String.join("\n", violations));
        }
        assertEquals(0, violations.size());
    }

    /** The bounds every jblk command keeps, whatever the image. */
    private static List<String> bounded(Line l) {
        List<String> problems = new ArrayList<>();
        String what = l.name() + " | " + l.command() + " (exit " + l.code() + ")";
        if (l.code() == -1) {
            problems.add(what + ": an error escaped the command:\n" + l.stderr());
            return problems;
        }
        if (l.code() == -2) {
            problems.add(what + ": did not finish within " + SweepChild.HANG_MILLIS + " ms");
            return problems;
        }
        if (l.allocated() > ALLOCATION_BOUND) {
            problems.add(what + ": allocated " + l.allocated() + " bytes");
        }
        String err = l.stderr();
        if (err.contains("\tat ") || err.contains("Exception in thread") || err.contains("java.lang.")) {
            problems.add(what + ": printed a stack trace or a Java exception:\n" + err);
        }
        Set<Integer> allowed = l.command().equals("jblk check") ? Set.of(0, 1, 2, 3) : Set.of(0, 1);
        if (!allowed.contains(l.code())) {
            problems.add(what + ": unexpected exit code");
        }
        if (l.code() == 1) {
            List<String> errLines = err.lines().filter(s -> !s.isBlank()).toList();
            boolean ioFailure = l.command().equals("jblk io") && l.stdout().contains("read failed:");
            if (!ioFailure && (errLines.isEmpty() || !errLines.getLast().startsWith("jblk: "))) {
                problems.add(what + ": exit 1 without a 'jblk: ' message: " + err + l.stdout());
            }
        }
        return problems;
    }

    /** The first lines of a tool's messages, indented, for a report. */
    private static String head(String s) {
        List<String> all = s.strip().lines().toList();
        String shown = String.join("\n          ", all.subList(0, Math.min(3, all.size())));
        return all.size() > 3 ? shown + "\n          (" + (all.size() - 3) + " more lines)" : shown;
    }

    private static String tail(String s) {
        List<String> all = s.lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - 5), all.size())) + "\n";
    }

    private static String firstLine(String s) {
        return s.lines().findFirst().orElse("");
    }
}
