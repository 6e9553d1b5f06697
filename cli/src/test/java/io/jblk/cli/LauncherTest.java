package io.jblk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code jblk} launcher's JVM options: {@code serve} gets the long-running server's heap and collector settings
 * (docs/nbd.md), other commands the JVM's defaults; {@code JBLK_SERVE_JAVA_OPTS} replaces the serve settings and
 * {@code JBLK_JAVA_OPTS} comes last. The launcher runs against a stand-in JDK whose {@code java} prints its
 * arguments, from a copy of the script whose build is up to date, so nothing is built or started.
 */
class LauncherTest {
    @TempDir
    Path dir;

    @Test
    void serveGetsServerHeapSettingsThatTheEnvironmentOverrides() throws Exception {
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xms16m", "-Xmx1g"),
                jvmOptions(Map.of(), "serve", "-k", "s.sock", "disk.qcow2"));
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xms16m", "-Xmx1g"),
                jvmOptions(Map.of(), "--debug", "serve", "disk.qcow2"), "the command found after global options");
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED"), jvmOptions(Map.of(), "info", "serve"),
                "other commands keep the JVM's defaults");
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-Xms16m", "-Xmx1g",
                "-Xmx3g"), jvmOptions(Map.of("JBLK_JAVA_OPTS", "-Xmx3g"), "serve", "d"), "JBLK_JAVA_OPTS wins");
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseG1GC"),
                jvmOptions(Map.of("JBLK_SERVE_JAVA_OPTS", "-XX:+UseG1GC"), "serve", "d"));
        assertEquals(List.of("--enable-native-access=ALL-UNNAMED"),
                jvmOptions(Map.of("JBLK_SERVE_JAVA_OPTS", ""), "serve", "d"), "set empty: the JVM's defaults");
    }

    /** The options the launcher passes to java before {@code -cp}. */
    private List<String> jvmOptions(Map<String, String> env, String... args) throws Exception {
        Path root = dir.resolve("repo");
        if (!Files.exists(root)) {
            Files.createDirectories(root.resolve("cli/target/lib"));
            Files.copy(Path.of("..", "jblk"), root.resolve("jblk"));
            root.resolve("jblk").toFile().setExecutable(true);
            Files.createFile(root.resolve("cli/target/lib/.built")); // newer than every (absent) source
            Path jdk = Files.createDirectories(dir.resolve("jdk/bin"));
            Files.writeString(dir.resolve("jdk/release"), "JAVA_VERSION=\"25\"\n");
            Files.writeString(jdk.resolve("java"), "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done\n");
            Files.setPosixFilePermissions(jdk.resolve("java"), PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        ProcessBuilder pb = new ProcessBuilder(root.resolve("jblk").toString());
        pb.command().addAll(List.of(args));
        pb.environment().remove("JBLK_JAVA_OPTS");
        pb.environment().remove("JBLK_SERVE_JAVA_OPTS");
        pb.environment().put("JBLK_JAVA_HOME", dir.resolve("jdk").toString());
        pb.environment().putAll(env);
        Process p = pb.redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().toList();
        int cp = lines.indexOf("-cp");
        assertFalse(cp < 0, out);
        return lines.subList(0, cp);
    }
}
