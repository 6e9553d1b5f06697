package io.jblk.tests.sweep;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@code jblk} command lines in a {@link JblkWorker} child JVM with a deadline each. A command that misses its
 * deadline gets the worker killed (and a new one started for the next command), so a hang fails one case instead of
 * the build. The worker's files may not grow beyond a limit ({@code prlimit --fsize}, when installed): a runaway
 * allocator fails with "File too large" instead of filling the disk before its deadline.
 */
final class JblkProcess implements AutoCloseable {
    /** What one command did. */
    record Outcome(int exitCode, long millis, String stderr) {
    }

    /** The command did not answer within its deadline; the worker was killed. */
    static final class TimedOut extends Exception {
        TimedOut(String message) {
            super(message);
        }
    }

    private final long fileSizeLimit;
    private Process process;
    private Writer commands;
    private BlockingQueue<String> answers;

    JblkProcess(long fileSizeLimit) {
        this.fileSizeLimit = fileSizeLimit;
    }

    Outcome run(Duration deadline, String... args) throws IOException, InterruptedException, TimedOut {
        if (process == null || !process.isAlive()) {
            start();
        }
        commands.write(String.join("\t", args) + "\n");
        commands.flush();
        String answer = answers.poll(deadline.toMillis(), TimeUnit.MILLISECONDS);
        if (answer == null || answer.equals(EOF)) {
            String why = answer == null ? "did not finish within " + deadline.toSeconds() + " s"
                    : "ended its JVM (exit " + process.waitFor() + ")";
            kill();
            throw new TimedOut("jblk " + String.join(" ", args) + " " + why);
        }
        String[] parts = answer.split("\t", 3);
        return new Outcome(Integer.parseInt(parts[0]), Long.parseLong(parts[1]),
                parts.length > 2 ? JblkWorker.unescape(parts[2]) : "");
    }

    private static final String EOF = "\u0000eof";

    private void start() throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>();
        if (Files.isExecutable(Path.of("/usr/bin/prlimit"))) {
            command.addAll(List.of("/usr/bin/prlimit", "--fsize=" + fileSizeLimit));
        }
        command.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), JblkWorker.class.getName()));
        process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        commands = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
        answers = new LinkedBlockingQueue<>();
        BlockingQueue<String> queue = answers;
        BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Thread.ofVirtual().start(() -> {
            try {
                for (String line = out.readLine(); line != null; line = out.readLine()) {
                    if (line.startsWith(JblkWorker.ANSWER)) {
                        queue.add(line.substring(JblkWorker.ANSWER.length()));
                    }
                }
            } catch (IOException e) {
                // the process was killed
            }
            queue.add(EOF);
        });
        String ready = answers.poll(120, TimeUnit.SECONDS);
        if (!"ready".equals(ready)) {
            kill();
            throw new IOException("the jblk worker JVM did not start: " + command);
        }
    }

    private void kill() throws InterruptedException {
        if (process != null) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            process.waitFor(30, TimeUnit.SECONDS);
            process = null;
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null) {
            try {
                commands.close();
                if (!process.waitFor(30, TimeUnit.SECONDS)) {
                    kill();
                }
            } catch (IOException e) {
                kill();
            }
            process = null;
        }
    }
}
