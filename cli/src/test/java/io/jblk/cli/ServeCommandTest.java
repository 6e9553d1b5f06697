package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jblk serve} with qemu-nbd's flags, used by qemu-io and nbdinfo. */
@Timeout(120)
class ServeCommandTest {
    @TempDir
    Path dir;

    @Test
    void servesUntilTheClientLeavesWithoutPersistent() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io", "nbdinfo");
        Path image = dir.resolve("disk.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", image.toString(), "16M").ok();
        Cli.qemuIo("-f", "qcow2", "-c", "write -P 0x3c 1M 64k", image.toString()).ok();
        Path sock = dir.resolve("s.sock");
        CompletableFuture<Cli.Result> serve = serveInBackground(sock, "serve", "-f", "qcow2", "-k", sock.toString(),
                "-x", "disk", "--discard", "unmap", image.toString());
        String out = Cli.qemuIo("-f", "raw", "nbd+unix:///disk?socket=" + sock, "-c", "read -P 0x3c 1M 64k",
                "-c", "write -P 0x5d 4M 8k", "-c", "read -P 0x5d 4M 8k").ok().stdout();
        assertFalse(out.contains("Pattern verification failed"), out);
        // Without -t the server stops once its only client is gone, removing its socket.
        Cli.Result result = serve.get(60, TimeUnit.SECONDS).expect(0);
        assertTrue(result.stderr().contains("exporting"), result.stderr());
        assertFalse(Files.exists(sock));
        Cli.qemuImg("check", "-f", "qcow2", image.toString()).ok();
        String after = Cli.qemuIo("-f", "qcow2", "-c", "read -P 0x5d 4M 8k", image.toString()).ok().stdout();
        assertFalse(after.contains("Pattern verification failed"), after);
    }

    @Test
    void readOnlyFlagReachesClients() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "nbdinfo");
        Path image = dir.resolve("disk.raw");
        Cli.qemuImg("create", "-f", "raw", image.toString(), "1M").ok();
        Path sock = dir.resolve("ro.sock");
        CompletableFuture<Cli.Result> serve = serveInBackground(sock, "serve", "-r", "-f", "raw", "-k", sock.toString(),
                image.toString());
        String json = ExternalTool.run("nbdinfo", "--json", "nbd+unix:///?socket=" + sock).ok().stdout();
        assertTrue(json.contains("\"is_read_only\": true"), json);
        assertTrue(json.contains("\"export-size\": 1048576"), json);
        serve.get(60, TimeUnit.SECONDS).expect(0);
    }

    @Test
    void badOptionsAreReported() {
        Cli.Result r = Cli.jblk("serve", "--discard", "maybe", "-k", dir.resolve("x.sock").toString(),
                dir.resolve("none.raw").toString());
        assertEquals(1, r.exitCode(), r.stderr());
        assertTrue(r.stderr().contains("maybe"), r.stderr());
        Cli.Result aio = Cli.jblk("serve", "--aio", "posix", "-k", dir.resolve("y.sock").toString(),
                dir.resolve("none.raw").toString());
        assertEquals(1, aio.exitCode(), aio.stderr());
        assertTrue(aio.stderr().contains("posix"), aio.stderr());
    }

    /** qemu-nbd's --aio picks the engine; the export works with either. */
    @Test
    void aioThreadsServesTheImage() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "nbdinfo");
        Path image = dir.resolve("aio.raw");
        Cli.qemuImg("create", "-f", "raw", image.toString(), "1M").ok();
        Path sock = dir.resolve("aio.sock");
        CompletableFuture<Cli.Result> serve = serveInBackground(sock, "serve", "--aio=threads", "--cache", "none",
                "-f", "raw", "-k", sock.toString(), image.toString());
        String json = ExternalTool.run("nbdinfo", "--json", "nbd+unix:///?socket=" + sock).ok().stdout();
        assertTrue(json.contains("\"export-size\": 1048576"), json);
        Cli.Result result = serve.get(60, TimeUnit.SECONDS).expect(0);
        assertTrue(result.stderr().contains("exporting"), result.stderr());
    }

    /**
     * SIGTERM, SIGINT and SIGHUP stop the server as they stop qemu-nbd: what was written is flushed, the socket file
     * removed, and the exit code is 0.
     */
    @Test
    void signalsStopTheServerCleanlyWithExitCodeZero() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        for (String signal : List.of("TERM", "INT", "HUP")) {
            Path image = dir.resolve(signal + ".qcow2");
            Cli.qemuImg("create", "-f", "qcow2", image.toString(), "16M").ok();
            Path sock = dir.resolve(signal + ".sock");
            Process serve = jblkProcess("serve", "-t", "-f", "qcow2", "-k", sock.toString(), image.toString());
            awaitSocket(serve, sock);
            Cli.qemuIo("-f", "raw", "nbd+unix:///?socket=" + sock, "-c", "write -P 0x6e 1M 64k").ok();
            ExternalTool.run("kill", "-" + signal, String.valueOf(serve.pid())).ok();
            assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "serve stopped on SIG" + signal);
            String err = new String(serve.getErrorStream().readAllBytes());
            assertEquals(0, serve.exitValue(), "exit code after SIG" + signal + "\n" + err);
            assertFalse(err.contains("Exception"), err);
            assertFalse(Files.exists(sock), "socket removed after SIG" + signal);
            Cli.qemuImg("check", "-f", "qcow2", image.toString()).ok();
            String back = Cli.qemuIo("-f", "qcow2", "-c", "read -P 0x6e 1M 64k", image.toString()).ok().stdout();
            assertFalse(back.contains("Pattern verification failed"), back);
        }
    }

    /** A bind address that does not resolve, or a port in use, is named in a plain message (exit 1, no trace). */
    @Test
    void bindFailuresNameTheAddress() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path image = dir.resolve("bind.raw");
        Cli.qemuImg("create", "-f", "raw", image.toString(), "1M").ok();
        Cli.Result unresolved = Cli.jblk("serve", "-f", "raw", "-b", "no-such-host.invalid", "-p", "0",
                image.toString());
        assertEquals(1, unresolved.exitCode(), unresolved.stderr());
        assertTrue(unresolved.stderr().contains("no-such-host.invalid"), unresolved.stderr());
        assertFalse(unresolved.stderr().contains("Exception"), unresolved.stderr());
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1,
                java.net.InetAddress.getLoopbackAddress())) {
            String port = String.valueOf(taken.getLocalPort());
            Cli.Result inUse = Cli.jblk("serve", "-f", "raw", "-b", "127.0.0.1", "-p", port, image.toString());
            assertEquals(1, inUse.exitCode(), inUse.stderr());
            assertTrue(inUse.stderr().contains("127.0.0.1:" + port) && inUse.stderr().contains("in use"),
                    inUse.stderr());
        }
        Cli.Result badPort = Cli.jblk("serve", "-f", "raw", "-p", "70000", image.toString());
        assertEquals(1, badPort.exitCode(), badPort.stderr());
        assertTrue(badPort.stderr().contains("70000"), badPort.stderr());
        assertFalse(badPort.stderr().contains("Exception"), badPort.stderr());
    }

    /** {@code jblk ARGS} in a JVM of its own, so that it can be sent signals. */
    private static Process jblkProcess(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(
                ProcessHandle.current().info().command().orElse("java"), "--enable-native-access=ALL-UNNAMED",
                "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).start();
    }

    private static void awaitSocket(Process serve, Path sock) throws Exception {
        for (int i = 0; i < 3000 && !Files.exists(sock) && serve.isAlive(); i++) {
            Thread.sleep(10);
        }
        assertTrue(Files.exists(sock), () -> "no socket; serve: " + (serve.isAlive() ? "running" : "exited "
                + serve.exitValue()));
    }

    /**
     * Runs {@code jblk ARGS} on a thread of its own (not the common pool, which a server left running by a failed
     * test would block for the next) and waits until its socket appears.
     */
    private static CompletableFuture<Cli.Result> serveInBackground(Path sock, String... args) throws Exception {
        CompletableFuture<Cli.Result> serve = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> serve.complete(Cli.jblk(args)));
        for (int i = 0; i < 1000 && !Files.exists(sock) && !serve.isDone(); i++) {
            Thread.sleep(10);
        }
        assertTrue(Files.exists(sock), () -> "no socket; serve ended with " + serve.getNow(null));
        return serve;
    }
}
