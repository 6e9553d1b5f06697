package io.jblk.tests.reliability.hostile;

import io.jblk.api.testing.ExternalTool;
import io.jblk.cli.Main;

import java.io.BufferedWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * The child JVM of {@link ResourceBoundSweepTest}, started with a small heap ({@code -Xmx64m}): for every case of
 * {@link FieldSweep} it writes the damaged image, runs {@code jblk info / check / map / io} on it through
 * {@link Main} (in this JVM, so an allocation proportional to a claimed size fails here), measures time and bytes
 * allocated, runs {@code qemu-img info} and {@code qemu-img check} on the same image for comparison, deletes it,
 * and appends one line per command to the result file: case, command, exit code, milliseconds, bytes allocated,
 * stdout and stderr (Base64). A command that runs longer than the hang bound ends the JVM with exit code 3 after
 * recording it; an error that escapes the command (OutOfMemoryError, say) is recorded as exit code -1.
 */
public final class SweepChild {
    static final int HUNG_EXIT = 3;
    /** Any command taking this long is a hang (the images are a few hundred KiB). */
    static final long HANG_MILLIS = 30_000;
    static final List<List<String>> JBLK_COMMANDS = List.of(
            List.of("info", "-f", "qcow2", "--output=json"),
            List.of("check", "-f", "qcow2", "--output=json"),
            List.of("map", "-f", "qcow2", "--output=json"),
            List.of("io", "-f", "qcow2", "-r", "-c", "read 0 64k"));
    /** qemu-img check also says whether QEMU opens the image at all ("Could not open", exit 1). */
    static final List<String> QEMU_CHECK = List.of("qemu-img", "check", "-f", "qcow2", "--output=json");
    /** Output kept per command: enough for any verdict, bounded whatever a hostile image makes a tool print. */
    static final int KEPT_OUTPUT = 64 << 10;

    private static volatile long started;
    private static volatile String running;

    private SweepChild() {
    }

    /**
     * {@code SweepChild WORK_DIR RESULT_FILE full|quick [FILTER]}: FILTER keeps the cases whose name contains it.
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Path results = Path.of(args[1]);
        boolean full = args[2].equals("full");
        String filter = args.length > 3 ? args[3] : "";
        Files.write(dir.resolve("base.raw"), new byte[1 << 20]); // the backing file of the "backing" base image
        boolean qemu = ExternalTool.available("qemu-img");
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        try (BufferedWriter out = Files.newBufferedWriter(results, StandardCharsets.UTF_8)) {
            startWatchdog(out);
            warmUp(dir);
            int n = 0;
            for (FieldSweep.Case c : FieldSweep.cases(full)) {
                if (!c.name().contains(filter)) {
                    continue;
                }
                System.out.println("case " + n + ": " + c.name());
                System.out.flush();
                Path image = dir.resolve("case-" + n++ + ".qcow2");
                Files.write(image, c.image());
                for (List<String> command : JBLK_COMMANDS) {
                    List<String> argv = new ArrayList<>(command);
                    argv.add(image.toString());
                    running = c.name() + " | jblk " + String.join(" ", command);
                    long allocatedBefore = threads.getTotalThreadAllocatedBytes();
                    started = System.nanoTime();
                    Outcome o = runJblk(argv.toArray(String[]::new));
                    long millis = (System.nanoTime() - started) / 1_000_000;
                    started = 0;
                    long allocated = threads.getTotalThreadAllocatedBytes() - allocatedBefore;
                    write(out, c.name(), "jblk " + command.getFirst(), o.code, millis, allocated, o.stdout, o.stderr);
                }
                if (qemu) {
                    List<String> argv = new ArrayList<>(QEMU_CHECK);
                    argv.add(image.toString());
                    long start = System.nanoTime();
                    Process p = new ProcessBuilder(argv).redirectOutput(dir.resolve("qemu.out").toFile())
                            .redirectError(dir.resolve("qemu.err").toFile()).start();
                    int code = p.waitFor(HANG_MILLIS, java.util.concurrent.TimeUnit.MILLISECONDS) ? p.exitValue() : -2;
                    p.destroyForcibly();
                    write(out, c.name(), "qemu-img check", code, (System.nanoTime() - start) / 1_000_000, 0,
                            head(dir.resolve("qemu.out")), head(dir.resolve("qemu.err")));
                }
                out.flush();
                Files.delete(image);
            }
        }
        System.exit(0);
    }

    private record Outcome(int code, String stdout, String stderr) {
    }

    private static String head(Path file) throws IOException {
        try (var in = Files.newInputStream(file)) {
            return new String(in.readNBytes(KEPT_OUTPUT), StandardCharsets.UTF_8);
        }
    }

    private static String head(String s) {
        return s.length() <= KEPT_OUTPUT ? s : s.substring(0, KEPT_OUTPUT) + "\n[" + s.length() + " characters]";
    }

    /** Runs {@code jblk ARGS} in this JVM; output that bypasses the command's writers (System.err) is kept too. */
    private static Outcome runJblk(String... argv) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        ByteArrayOutputStream stray = new ByteArrayOutputStream();
        PrintStream oldOut = System.out;
        PrintStream oldErr = System.err;
        System.setOut(new PrintStream(stray, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(stray, true, StandardCharsets.UTF_8));
        int code;
        try {
            code = Main.run(new PrintWriter(out), new PrintWriter(err), argv);
        } catch (Throwable t) {
            // Nothing may escape the command: report it as a failure with its trace.
            code = -1;
            t.printStackTrace(new PrintWriter(err, true));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
        return new Outcome(code, head(out.toString()), head(err + stray.toString(StandardCharsets.UTF_8)));
    }

    /** Loads and compiles the command paths on a valid image first, so class loading is not counted as a case's. */
    private static void warmUp(Path dir) throws IOException {
        Path image = dir.resolve("warm-up.qcow2");
        new Qcow2ImageBuilder().dataClusters(1).compressedClusters(1).build().writeTo(image);
        for (int i = 0; i < 3; i++) {
            for (List<String> command : JBLK_COMMANDS) {
                List<String> argv = new ArrayList<>(command);
                argv.add(image.toString());
                runJblk(argv.toArray(String[]::new));
            }
        }
        Files.delete(image);
    }

    private static void startWatchdog(BufferedWriter out) {
        Thread watchdog = new Thread(() -> {
            while (true) {
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
                long start = started;
                if (start != 0 && (System.nanoTime() - start) / 1_000_000 > HANG_MILLIS) {
                    String[] parts = running.split(" \\| ", 2);
                    try {
                        write(out, parts[0], parts[1], -2, HANG_MILLIS, 0, "", "did not finish within "
                                + HANG_MILLIS + " ms");
                        out.flush();
                    } catch (IOException e) {
                        // exiting anyway
                    }
                    Runtime.getRuntime().halt(HUNG_EXIT);
                }
            }
        }, "sweep-watchdog");
        watchdog.setDaemon(true);
        watchdog.start();
    }

    private static synchronized void write(BufferedWriter out, String name, String command, int code, long millis,
                                           long allocated, String stdout, String stderr) throws IOException {
        Base64.Encoder b64 = Base64.getEncoder();
        out.write(String.join("\t", name, command, Integer.toString(code), Long.toString(millis),
                Long.toString(allocated), b64.encodeToString(stdout.getBytes(StandardCharsets.UTF_8)),
                b64.encodeToString(stderr.getBytes(StandardCharsets.UTF_8))));
        out.newLine();
    }
}
