package io.jblk.nbd;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs {@link ChildServer} in a JVM of its own with the given JVM options (a small {@code -Xmx}), and reads its CPU
 * time and peak resident memory from the operating system. {@code -XX:+ExitOnOutOfMemoryError} is always set: a
 * server that runs out of heap dies, and the test sees a dead server instead of a half-working one.
 */
final class ChildServerProcess implements AutoCloseable {
    final Process process;
    final Path socket;
    private final Path log;

    private ChildServerProcess(Process process, Path socket, Path log) {
        this.process = process;
        this.socket = socket;
        this.log = log;
    }

    static ChildServerProcess start(Path image, String format, Path socket, int maxConnections, boolean readOnly,
                                    String... jvmOptions) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        command.addAll(List.of(jvmOptions));
        command.addAll(List.of("-XX:+ExitOnOutOfMemoryError", "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), ChildServer.class.getName(),
                image.toString(), format, socket.toString(), String.valueOf(maxConnections), String.valueOf(readOnly)));
        Path log = socket.resolveSibling(socket.getFileName() + ".log");
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        Thread.ofVirtual().start(() -> { // the rest (the JVM's last words included) goes to the log
            try (var w = Files.newBufferedWriter(log)) {
                for (String l = out.readLine(); l != null; l = out.readLine()) {
                    w.write(l);
                    w.newLine();
                    w.flush();
                }
            } catch (IOException e) {
                // the test reports what was logged so far
            }
        });
        ChildServerProcess child = new ChildServerProcess(p, socket, log);
        if (!"ready".equals(line)) {
            child.close();
            throw new AssertionError("child server did not start: " + line + "\n" + child.log());
        }
        return child;
    }

    /** User plus system CPU time the server has used so far. */
    Duration cpu() {
        return process.info().totalCpuDuration().orElseThrow(() -> new AssertionError("no CPU time for the child"));
    }

    /** Peak resident set size (VmHWM) in KiB. */
    long peakRssKiB() throws IOException {
        return statusField("VmHWM:");
    }

    long rssKiB() throws IOException {
        return statusField("VmRSS:");
    }

    private long statusField(String name) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(process.pid()), "status"))) {
            if (line.startsWith(name)) {
                return Long.parseLong(line.substring(name.length()).trim().split("\\s+")[0]);
            }
        }
        throw new IOException(name + " not in /proc/" + process.pid() + "/status");
    }

    /** Fails, with what the server printed, unless it is still running. */
    void assertAlive(String when) throws IOException {
        assertAlive(when, Duration.ZERO);
    }

    /** {@link #assertAlive(String)}, giving a server that may be on its way out {@code grace} to exit. */
    void assertAlive(String when, Duration grace) throws IOException {
        try {
            process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!process.isAlive()) {
            throw new AssertionError("the server died " + when + " (exit code " + process.exitValue() + ")\n" + log());
        }
    }

    String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly().waitFor();
        }
    }
}
