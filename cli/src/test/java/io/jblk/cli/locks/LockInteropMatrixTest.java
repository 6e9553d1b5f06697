package io.jblk.cli.locks;

import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.ProcLocks;
import io.jblk.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The lock interop matrix: for every way QEMU's tools hold an image open (qemu-io, qemu-nbd; read-write, read-only,
 * read-only with -U) and every command that opens it meanwhile (each qemu-img / qemu-io / qemu-nbd command jblk
 * mirrors, with and without -U), the verdict of QEMU against itself is the expectation, found in the same run. jblk
 * must give the same verdict as second opener against QEMU, as first opener against QEMU's second, and against
 * itself; its holders must hold the very bytes QEMU's hold ({@code /proc/locks}); and whenever the lock refuses a jblk
 * command, it exits with QEMU's code and QEMU's message, without a stack trace. The same for backing chains and
 * external data files, where the second opener opens a different file of the chain than the holder.
 */
class LockInteropMatrixTest {
    /**
     * {@code -Djblk.locks=full} runs every holder kind in every case; by default the cases whose holders lock the
     * same bytes as another holder kind of the case are left out (the bytes decide every verdict, and each kind's
     * bytes are still compared with QEMU's in the qcow2 case), which keeps the matrix near a minute.
     */
    private static final boolean FULL = "full".equals(System.getProperty("jblk.locks"));

    @TempDir
    Path dir;

    private final List<String> mismatches = new ArrayList<>();
    private final java.util.Map<String, long[]> time = new java.util.TreeMap<>();
    private final StringBuilder table = new StringBuilder();

    /** Where a case's files are, and which of them the holder and the second opener open. */
    private record Layout(Path holderImage, String holderFormat, Path secondImage, String secondFormat) {
    }

    @ParameterizedTest
    @ValueSource(strings = {"qcow2", "raw"})
    void singleImage(String format) throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo");
        Path image = dir.resolve("image." + format);
        Path other = dir.resolve("other." + format);
        qemuImg("create", "-q", "-f", format, other.toString(), "1M");
        Layout layout = new Layout(image, format, image, format);
        // A raw file's readers hold byte 100 alone whether they share (-U) or not, as qemu-io's do: one of each suffices.
        List<Holder.Kind> kinds = FULL || format.equals("qcow2") ? List.of(Holder.Kind.values())
                : List.of(Holder.Kind.IO_RW, Holder.Kind.IO_RO, Holder.Kind.NBD_RW, Holder.Kind.NBD_RO);
        for (Holder.Kind kind : kinds) {
            runCase(layout, kind, SecondOpener.all(format.equals("qcow2")), () -> qemuImg("create", "-q", "-f",
                    format, image.toString(), "1M"));
        }
        report(format + " image, holder and second opener on the same file");
    }

    /** A qcow2 overlay over a qcow2 or raw base: one side holds the base, the other opens the overlay; then reversed. */
    @ParameterizedTest
    @ValueSource(strings = {"qcow2", "raw"})
    void backingChain(String baseFormat) throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo");
        Path base = dir.resolve("base." + baseFormat);
        Path overlay = dir.resolve("overlay.qcow2");
        Setup setup = () -> {
            qemuImg("create", "-q", "-f", baseFormat, base.toString(), "1M");
            qemuImg("create", "-q", "-f", "qcow2", "-b", base.getFileName().toString(), "-F", baseFormat,
                    overlay.toString());
        };
        for (Holder.Kind kind : chainHolders()) {
            runCase(new Layout(base, baseFormat, overlay, "qcow2"), kind, SecondOpener.chain(), setup);
            runCase(new Layout(overlay, "qcow2", base, baseFormat), kind, SecondOpener.chain(), setup);
        }
        report("qcow2 overlay over a " + baseFormat + " base: holder on one, second opener on the other");
    }

    /** A qcow2 image with an external data file: one side holds the data file, the other opens the image; reversed. */
    @Test
    void externalDataFile() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io", "qemu-nbd", "nbdinfo");
        Path data = dir.resolve("data.raw");
        Path image = dir.resolve("image.qcow2");
        Setup setup = () -> {
            Files.deleteIfExists(data);
            // qemu-img create resolves a relative data_file against its working directory: give it the full name
            qemuImg("create", "-q", "-f", "qcow2", "-o", "data_file=" + data, image.toString(), "1M");
        };
        for (Holder.Kind kind : chainHolders()) {
            runCase(new Layout(data, "raw", image, "qcow2"), kind, SecondOpener.chain(), setup);
            runCase(new Layout(image, "qcow2", data, "raw"), kind, SecondOpener.chain(), setup);
        }
        report("qcow2 image with an external raw data file: holder on one, second opener on the other");
    }

    /** Holders for the chain cases: a writer and a reader; with -U too in the full run. */
    private static List<Holder.Kind> chainHolders() {
        return FULL ? List.of(Holder.Kind.IO_RW, Holder.Kind.IO_RO, Holder.Kind.IO_RO_SHARED)
                : List.of(Holder.Kind.IO_RW, Holder.Kind.IO_RO);
    }

    @FunctionalInterface
    interface Setup {
        void run() throws Exception;
    }

    /**
     * One holder kind: QEMU's holder, then jblk's, each met by every second opener in both implementations; the
     * QEMU-QEMU verdict is the expectation for the other three.
     */
    private void runCase(Layout layout, Holder.Kind kind, List<SecondOpener> seconds, Setup setup) throws Exception {
        List<Verdict> qq = new ArrayList<>();
        List<Verdict> qj = new ArrayList<>();
        List<Verdict> jq = new ArrayList<>();
        List<Verdict> jj = new ArrayList<>();
        List<Long> qemuBytes;
        List<Long> jblkBytes;
        setup.run();
        try (Holder h = Holder.qemu(kind, layout.holderImage(), layout.holderFormat(), dir)) {
            qemuBytes = ProcLocks.bytes(layout.holderImage());
            for (SecondOpener s : seconds) {
                qq.add(runQemu(s, layout));
                qj.add(runJblk(s, layout));
            }
        }
        setup.run();
        String jblkHolder;
        try (Holder h = Holder.jblk(kind, layout.holderImage(), layout.holderFormat(), dir)) {
            jblkHolder = h.toString();
            jblkBytes = ProcLocks.bytes(layout.holderImage());
            for (SecondOpener s : seconds) {
                jq.add(runQemu(s, layout));
                jj.add(runJblk(s, layout));
            }
        }
        String where = kind + " on " + layout.holderImage().getFileName() + " (" + layout.holderFormat() + "), "
                + "second opener on " + layout.secondImage().getFileName() + " (" + layout.secondFormat() + ")";
        table.append("\n").append(where).append("\n  holder bytes: QEMU ").append(qemuBytes).append(", jblk ")
                .append(jblkBytes).append(" (").append(jblkHolder).append(")\n");
        if (!qemuBytes.equals(jblkBytes)) {
            mismatches.add(where + ": QEMU's holder locks " + qemuBytes + ", jblk's " + jblkBytes);
        }
        for (int i = 0; i < seconds.size(); i++) {
            String expected = qq.get(i).summary();
            table.append(String.format("  %-16s %-45s%s%n", seconds.get(i).name(), expected,
                    qj.get(i).summary().equals(expected) && jq.get(i).summary().equals(expected)
                            && jj.get(i).summary().equals(expected) ? "" : "   <-- jblk differs"));
            check(where, seconds.get(i), "jblk second, QEMU holder", qq.get(i), qj.get(i), true);
            check(where, seconds.get(i), "QEMU second, jblk holder", qq.get(i), jq.get(i), false);
            check(where, seconds.get(i), "jblk second, jblk holder", qq.get(i), jj.get(i), true);
        }
    }

    private void check(String where, SecondOpener s, String pair, Verdict expected, Verdict actual, boolean jblkSecond) {
        String prefix = where + ", " + s.name() + ", " + pair + ": ";
        if (!expected.summary().equals(actual.summary())) {
            mismatches.add(prefix + "QEMU against itself: " + expected.summary() + "; here: " + actual.summary()
                    + " (exit " + actual.exitCode() + ")\n    " + actual.stderr().strip().replace("\n", "\n    "));
            return;
        }
        if (jblkSecond && actual.refused()) {
            if (actual.exitCode() != expected.exitCode()) {
                mismatches.add(prefix + "refused with exit code " + actual.exitCode() + ", QEMU's is "
                        + expected.exitCode());
            }
            if (!actual.stderr().contains("Is another process using the image [")) {
                mismatches.add(prefix + "no QEMU-style hint in: " + actual.stderr());
            }
            if (actual.stderr().contains("\tat ") || actual.stderr().contains("Exception")) {
                mismatches.add(prefix + "stack trace or exception name: " + actual.stderr());
            }
        }
    }

    private void report(String title) {
        System.out.println("Lock interop matrix: " + title + " (expected = QEMU against itself)" + table);
        time.forEach((k, t) -> System.out.printf("  time %-22s %4d runs %6d ms%n", k, t[0], t[1] / 1_000_000));
        if (!mismatches.isEmpty()) {
            fail(mismatches.size() + " lock verdicts differ from QEMU's:\n" + String.join("\n", mismatches)
                    + "\n\nmatrix:" + table);
        }
    }

    // ---- running the second openers ----

    private List<String> substitute(List<String> template, Layout layout, String tag) throws Exception {
        Path out = dir.resolve("out-" + tag + ".raw");
        Files.deleteIfExists(out);
        Path socket = dir.resolve("second-" + tag + ".sock");
        Files.deleteIfExists(socket);
        Path other = dir.resolve("other." + layout.secondFormat());
        if (!Files.exists(other)) {
            qemuImg("create", "-q", "-f", layout.secondFormat(), other.toString(), "1M");
        }
        List<String> args = new ArrayList<>();
        for (String a : template) {
            args.add(switch (a) {
                case "IMG" -> layout.secondImage().toString();
                case "FMT" -> layout.secondFormat();
                case "OTHER" -> other.toString();
                case "OUT" -> out.toString();
                case "SOCK" -> socket.toString();
                default -> a;
            });
        }
        return args;
    }

    private Verdict runQemu(SecondOpener s, Layout layout) throws Exception {
        long start = System.nanoTime();
        try {
            return runQemuTimed(s, layout);
        } finally {
            long[] t = time.computeIfAbsent("qemu " + s.name(), k -> new long[2]);
            t[0]++;
            t[1] += System.nanoTime() - start;
        }
    }

    private Verdict runJblk(SecondOpener s, Layout layout) throws Exception {
        long start = System.nanoTime();
        try {
            return runJblkTimed(s, layout);
        } finally {
            long[] t = time.computeIfAbsent("jblk " + s.name(), k -> new long[2]);
            t[0]++;
            t[1] += System.nanoTime() - start;
        }
    }

    private Verdict runQemuTimed(SecondOpener s, Layout layout) throws Exception {
        List<String> cmd = substitute(s.qemu(), layout, "qemu");
        byte[] before = s.truncates() ? Files.readAllBytes(layout.secondImage()) : null;
        Verdict v;
        if (!s.server()) {
            ExternalTool.Result r = ExternalTool.run(cmd);
            v = Verdict.of(r.exitCode(), r.stderr());
        } else {
            Path socket = Path.of(cmd.get(cmd.indexOf("-k") + 1));
            Path log = dir.resolve("qemu-nbd-second.log");
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            while (p.isAlive() && !Files.exists(socket)) {
                Thread.sleep(5);
            }
            if (p.isAlive()) {
                ExternalTool.run("nbdinfo", "--size", "nbd+unix:///?socket=" + socket); // it ends with its client
            }
            if (!p.waitFor(20, TimeUnit.SECONDS)) {
                p.destroyForcibly().waitFor();
            }
            v = Verdict.of(p.exitValue(), Files.readString(log));
        }
        checkUntouched(s, layout, before, v);
        return v;
    }

    private Verdict runJblkTimed(SecondOpener s, Layout layout) throws Exception {
        List<String> args = substitute(s.jblk(), layout, "jblk");
        byte[] before = s.truncates() ? Files.readAllBytes(layout.secondImage()) : null;
        Verdict v;
        if (!s.server()) {
            StringWriter out = new StringWriter();
            StringWriter err = new StringWriter();
            int code = Main.run(new PrintWriter(out), new PrintWriter(err), args.toArray(String[]::new));
            v = Verdict.of(code, err.toString());
        } else {
            Path socket = Path.of(args.get(args.indexOf("-k") + 1));
            Holder.Serve serve = Holder.Serve.start(args);
            long deadline = System.currentTimeMillis() + 20_000;
            while (!serve.finished() && !Files.exists(socket) && System.currentTimeMillis() < deadline) {
                Thread.sleep(5);
            }
            serve.stop(socket);
            v = Verdict.of(serve.exitCode(), serve.stderr());
        }
        checkUntouched(s, layout, before, v);
        return v;
    }

    /** A create that the lock refuses must leave the file exactly as it was (it locks before truncating). */
    private void checkUntouched(SecondOpener s, Layout layout, byte[] before, Verdict v) throws Exception {
        if (before != null && v.refused() && !Arrays.equals(before, Files.readAllBytes(layout.secondImage()))) {
            mismatches.add(s.name() + " was refused but changed " + layout.secondImage());
        }
    }

    private static void qemuImg(String... args) throws Exception {
        ExternalTool.qemuImg(args).ok();
    }

    /** The matrix's own parsing, so a verdict cannot pass by parsing nothing. */
    @Test
    void verdictReadsQemusLockLine() {
        Verdict v = Verdict.of(1, "qemu-img: Could not open 'a.qcow2': Failed to get shared \"write\" lock\n"
                + "Is another process using the image [a.qcow2]?\n");
        assertEquals("Failed to get shared \"write\" lock", v.summary());
        assertEquals("opens", Verdict.of(0, "").summary());
    }
}
