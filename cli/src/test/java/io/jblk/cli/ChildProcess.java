package io.jblk.cli;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

/**
 * Runs a command as a user would: its own process, its own working directory, stdout and stderr captured, killed
 * after a generous hang bound. {@link #jblk} starts the {@code jblk} command ({@code io.jblk.cli.Main}) in a child
 * JVM with the launcher's flags.
 */
final class ChildProcess {
    /** Far above any case here (each takes well under a second of work); only a hang gets near it. */
    private static final long TIMEOUT_SECONDS = 120;
    /** A Java stack trace in any form the JVM or a library prints one. */
    private static final Pattern TRACE = Pattern.compile(
            "Exception in thread|(?m)^\\s+at [\\w$.]+\\(|(?m)^Caused by: |\tat io\\.jblk|at java\\.");

    /** What a finished process printed and returned. */
    record Result(String shown, int exitCode, String stdout, String stderr, boolean hung) {
        String output() {
            return stdout + stderr;
        }

        boolean hasStackTrace() {
            return TRACE.matcher(stdout).find() || TRACE.matcher(stderr).find();
        }

        String transcript() {
            return shown + "\n  exit " + exitCode + (hung ? " (killed: hung)" : "")
                    + "\n  stdout: " + stdout.strip().replace("\n", "\n          ")
                    + "\n  stderr: " + stderr.strip().replace("\n", "\n          ");
        }
    }

    /** Shared settings of every child JVM. */
    static final class Jvm {
        private final String java;
        /** The launcher's flag, and start-up settings that change nothing the command does. */
        private static final List<String> FLAGS = List.of("--enable-native-access=ALL-UNNAMED",
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xlog:disable", "-Xlog:all=off");
        private final String classPath;
        private final Path aotCache;

        /**
         * Puts the test's class path into jars under {@code work} (an AOT cache takes jars only) and trains the
         * cache with one run; every later child maps it, which saves start-up time and changes nothing the command
         * does. Without the cache (training failed, or flags that do not match it) the children still run, slower.
         */
        Jvm(Path work) throws IOException, InterruptedException {
            this.java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            List<String> entries = new ArrayList<>();
            int n = 0;
            // -Djblk.cli.classpath=DIR/* runs the children from another build (e.g. an older one, to see a case fail)
            String given = System.getProperty("jblk.cli.classpath", System.getProperty("java.class.path"));
            for (String entry : given.split(File.pathSeparator)) {
                Path path = Path.of(entry);
                if (Files.isDirectory(path)) {
                    if (!path.getFileName().toString().equals("test-classes")) {
                        entries.add(jar(path, work.resolve("classpath-" + n++ + ".jar")).toString());
                    }
                } else {
                    entries.add(entry);
                }
            }
            this.classPath = String.join(File.pathSeparator, entries);
            this.aotCache = work.resolve("jblk-cli.aot");
            // one training run through the parser, an open, a read and a write: JDK 25 records the classes it
            // loaded and linked, and the children start from that (about a quarter less CPU each)
            io.jblk.api.BlockDrivers.create(work.resolve("train.qcow2"), "qcow2",
                    io.jblk.api.CreateOptions.builder(1 << 20).build());
            List<String> train = new ArrayList<>(List.of(java, "-XX:AOTCacheOutput=" + aotCache));
            train.addAll(FLAGS);
            train.addAll(List.of("-cp", classPath, "io.jblk.cli.Main", "io", "-c", "read 0 512", "-c",
                    "write -P 1 0 512", "train.qcow2"));
            run(work, "jblk io ... (training the AOT cache)", train);
        }

        private static Path jar(Path dir, Path jar) throws IOException {
            try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
                 var files = Files.walk(dir)) {
                for (Path file : files.filter(Files::isRegularFile).sorted().toList()) {
                    out.putNextEntry(new java.util.jar.JarEntry(dir.relativize(file).toString().replace('\\', '/')));
                    Files.copy(file, out);
                    out.closeEntry();
                }
            }
            return jar;
        }

        /**
         * The command line of {@code jblk ARGS}: the launcher's flags ({@code --enable-native-access}), plus
         * start-up settings that change no behaviour (C1 only, serial GC, the AOT cache, no JVM log lines).
         *
         * @param addressSpace when positive, the child's virtual memory limit (prlimit --as), so that an allocation
         *                     sized by a request instead of by the image fails instead of succeeding quietly
         */
        List<String> command(long addressSpace, List<String> args) {
            List<String> command = new ArrayList<>();
            if (addressSpace > 0) {
                command.addAll(List.of("prlimit", "--as=" + addressSpace));
            }
            command.add(java);
            command.addAll(FLAGS);
            if (Files.exists(aotCache)) {
                command.add("-XX:AOTCache=" + aotCache);
            }
            if (addressSpace > 0) {
                // keep the JVM's own reservations small, so the limit bounds what the command allocates
                command.addAll(List.of("-Xmx64m", "-XX:CompressedClassSpaceSize=64m", "-XX:ReservedCodeCacheSize=32m",
                        "-XX:ErrorFile=/dev/null"));
            }
            command.addAll(List.of("-cp", classPath, "io.jblk.cli.Main"));
            command.addAll(args);
            return command;
        }
    }

    private ChildProcess() {
    }

    /**
     * Runs {@code command} in {@code workingDirectory}.
     *
     * @param shown how transcripts show the command ("jblk info x" rather than the whole JVM command line)
     */
    static Result run(Path workingDirectory, String shown, List<String> command)
            throws IOException, InterruptedException {
        Path out = Files.createTempFile(workingDirectory.getParent(), "child", ".out");
        Path err = Files.createTempFile(workingDirectory.getParent(), "child", ".err");
        try {
            Process process = new ProcessBuilder(command).directory(workingDirectory.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
                    .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            boolean hung = !process.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            if (hung) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor();
            }
            return new Result(shown, process.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8), hung);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(dir, tool))) {
                return true;
            }
        }
        return false;
    }
}
