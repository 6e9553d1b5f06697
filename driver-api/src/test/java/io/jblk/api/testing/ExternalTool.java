package io.jblk.api.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Runs the real reference tools (qemu-img, qemu-io, qemu-nbd, nbdinfo, fio) from tests. Interop tests never mock
 * them: when a tool is missing the test is skipped with a message that says what to install (CI installs them).
 */
public final class ExternalTool {
    private static final long TIMEOUT_SECONDS = 300;

    private ExternalTool() {
    }

    /** What a finished command printed and returned. */
    public record Result(List<String> command, int exitCode, String stdout, String stderr) {
        /** Fails with the whole transcript unless the exit code is 0. */
        public Result ok() {
            return expect(0);
        }

        public Result expect(int code) {
            if (exitCode != code) {
                throw new AssertionError("expected exit code " + code + " from " + String.join(" ", command)
                        + " but got " + exitCode + "\nstdout:\n" + stdout + "\nstderr:\n" + stderr);
            }
            return this;
        }
    }

    /** True when {@code tool} is on the PATH. */
    public static boolean available(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }

    /** Skips the calling test unless every tool is installed. */
    public static void assumeAvailable(String... tools) {
        for (String tool : tools) {
            assumeTrue(available(tool), tool + " is not installed (apt-get install -y qemu-utils libnbd-bin fio)");
        }
    }

    /** Runs {@code command} to completion (5 minutes at most) and captures its output. */
    public static Result run(String... command) throws IOException, InterruptedException {
        return run(Arrays.asList(command));
    }

    public static Result run(List<String> command) throws IOException, InterruptedException {
        Path out = Files.createTempFile("jblk-tool", ".out");
        Path err = Files.createTempFile("jblk-tool", ".err");
        try {
            Process process = new ProcessBuilder(new ArrayList<>(command))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            if (!process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new AssertionError(String.join(" ", command) + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(List.copyOf(command), process.exitValue(),
                    Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    /** {@code qemu-img ARGS}, skipping the test if QEMU's tools are not installed. */
    public static Result qemuImg(String... args) throws IOException, InterruptedException {
        assumeAvailable("qemu-img");
        return run(prepend("qemu-img", args));
    }

    /** {@code qemu-io ARGS}, skipping the test if QEMU's tools are not installed. */
    public static Result qemuIo(String... args) throws IOException, InterruptedException {
        assumeAvailable("qemu-io");
        return run(prepend("qemu-io", args));
    }

    private static List<String> prepend(String tool, String... args) {
        List<String> command = new ArrayList<>();
        command.add(tool);
        command.addAll(Arrays.asList(args));
        return command;
    }
}
