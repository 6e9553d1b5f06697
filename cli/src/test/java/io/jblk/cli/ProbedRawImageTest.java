package io.jblk.cli;

import io.jblk.api.BlockDrivers;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The attack of issue 14 (failure 3): a raw image served or opened without {@code -f} is probed; a client writes a
 * qcow2 header whose backing file is a host file into its first sector; the next probed open serves that host file.
 * Like QEMU, jblk refuses such writes (EPERM) on a probed raw image, in {@code jblk io} and {@code jblk serve}, and
 * says so in its probing warning.
 */
@Timeout(180)
class ProbedRawImageTest {
    private static final String SECRET = "TOP SECRET host file that no client may read";

    @TempDir
    Path dir;

    /** A qcow2 image whose backing file is a host file the user never named to jblk. */
    private Path evilQcow2() throws Exception {
        Path secret = dir.resolve("secret.txt");
        byte[] content = Arrays.copyOf(SECRET.getBytes(StandardCharsets.US_ASCII), 1 << 20);
        Files.write(secret, content);
        Path evil = dir.resolve("evil.qcow2");
        Cli.qemuImg("create", "-q", "-f", "qcow2", "-b", secret.toAbsolutePath().toString(), "-F", "raw",
                evil.toString(), "1M").ok();
        return evil;
    }

    private Path victim() throws Exception {
        Path victim = dir.resolve("victim.raw");
        Files.write(victim, new byte[1 << 20]);
        return victim;
    }

    @Test
    void ioRefusesTheByteThatCompletesAQcow2Header() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        byte[] header = Arrays.copyOf(Files.readAllBytes(evilQcow2()), 512);
        header[0] = 0; // "\0FI\xfb": raw until its first byte becomes 'Q'
        Path victim = victim();
        byte[] content = Files.readAllBytes(victim);
        System.arraycopy(header, 0, content, 0, header.length);
        Files.write(victim, content);
        assertEquals("raw", BlockDrivers.probe(victim).formatName());

        ExternalTool.Result qemu = Cli.qemuIo("-c", "write -P 0x51 0 1", victim.toString());
        assertTrue(qemu.stdout().contains("Operation not permitted"), "qemu-io refuses it too:\n" + qemu.stdout());
        Cli.Result jblk = Cli.jblk("io", "-c", "write -P 0x51 0 1", "-c", "write -P 0x51 512 1", victim.toString());
        assertEquals(1, jblk.exitCode(), jblk.stdout() + jblk.stderr());
        assertTrue(jblk.stdout().contains("write failed:"), jblk.stdout());
        assertTrue(jblk.stdout().contains("wrote 1/1 bytes at offset 512"), "other writes go on:\n" + jblk.stdout());
        assertTrue(jblk.stderr().contains("probing guessed raw") && jblk.stderr().contains("restricted"),
                jblk.stderr());
        assertEquals(0, Files.readAllBytes(victim)[0], "the first byte was not written");
        assertEquals("raw", BlockDrivers.probe(victim).formatName());

        // Named explicitly, the format is the user's decision, as in qemu-io.
        Cli.jblk("io", "-f", "raw", "-c", "write -P 0x51 0 1", victim.toString()).expect(0);
        assertEquals("qcow2", BlockDrivers.probe(victim).formatName());
    }

    @Test
    void serveRefusesAQcow2HeaderFromNbdcopyAndNbdsh() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "nbdcopy", "nbdsh");
        Path evil = evilQcow2();
        Path victim = victim();
        Path sock = dir.resolve("s.sock");
        String uri = "nbd+unix:///?socket=" + sock;

        CompletableFuture<Cli.Result> serve = serveInBackground(sock, "serve", "-k", sock.toString(),
                victim.toString());
        ExternalTool.Result copy = ExternalTool.run("nbdcopy", evil.toString(), uri);
        assertNotEquals(0, copy.exitCode(), "nbdcopy wrote a qcow2 header into a probed raw image:\n"
                + copy.stdout() + copy.stderr());
        Cli.Result served = serve.get(60, TimeUnit.SECONDS);
        assertTrue(served.stderr().contains("probing guessed raw") && served.stderr().contains("restricted"),
                served.stderr());
        assertEquals("raw", BlockDrivers.probe(victim).formatName());

        Path evilHeader = dir.resolve("header.bin");
        Files.write(evilHeader, Arrays.copyOf(Files.readAllBytes(evil), 512));
        serve = serveInBackground(sock, "serve", "-k", sock.toString(), victim.toString());
        String script = "try:\n"
                + "    h.pwrite(open('" + evilHeader + "', 'rb').read(), 0)\n"
                + "    print('WROTE')\n"
                + "except nbd.Error as e:\n"
                + "    print('ERRNO', e.errno)\n"
                + "h.pwrite(b'harmless', 1024)\n"
                + "print('READ', h.pread(64, 0).hex())\n";
        String out = ExternalTool.run(nbdsh("-u", uri, "-c", script)).ok().stdout();
        serve.get(60, TimeUnit.SECONDS).expect(0);
        assertTrue(out.contains("ERRNO EPERM") || out.contains("ERRNO 1\n"), "expected EPERM:\n" + out);
        assertTrue(out.contains("READ " + "00".repeat(64)), out);
        assertEquals("raw", BlockDrivers.probe(victim).formatName());

        // Served again, the client still sees the raw image, not the host file.
        serve = serveInBackground(sock, "serve", "-k", sock.toString(), victim.toString());
        Path back = dir.resolve("back.raw");
        ExternalTool.run("nbdcopy", uri, back.toString()).ok();
        serve.get(60, TimeUnit.SECONDS).expect(0);
        String seen = new String(Files.readAllBytes(back), StandardCharsets.US_ASCII);
        assertFalse(seen.contains(SECRET), "the client read the host file");
        assertTrue(seen.contains("harmless"));
    }

    /**
     * nbdsh's command line. nbdsh is {@code python3 -m nbd}; when the first python3 on the PATH (a pyenv one, say)
     * lacks libnbd's module, the system's python3 that came with libnbd-bin runs it instead.
     */
    private static java.util.List<String> nbdsh(String... args) throws Exception {
        for (String python : new String[] {"python3", "/usr/bin/python3"}) {
            if (ExternalTool.run(python, "-c", "import nbd").exitCode() == 0) {
                java.util.List<String> command = new java.util.ArrayList<>(java.util.List.of(python, "-m", "nbd"));
                command.addAll(Arrays.asList(args));
                return command;
            }
        }
        org.junit.jupiter.api.Assumptions.abort("nbdsh's python module (python3-libnbd) is not installed");
        return null;
    }

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
