package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Backing and data-file names inside an image are the image author's choice. {@code jblk serve} follows them only
 * into the image's directory (after resolving {@code ..} and symbolic links) unless told otherwise, so a crafted
 * image cannot make it serve a host file or write over one; {@code jblk io --confine} does the same.
 */
@Timeout(120)
class ServeConfinementTest {
    @TempDir
    Path dir;
    Path images;
    Path outside;
    Path secret;
    byte[] secretBytes;

    @BeforeEach
    void layout() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        images = Files.createDirectories(dir.resolve("images"));
        outside = Files.createDirectories(dir.resolve("outside"));
        secret = outside.resolve("secret.raw");
        secretBytes = new byte[64 << 10];
        Arrays.fill(secretBytes, (byte) 'S');
        Files.write(secret, secretBytes);
    }

    private Path overlay(String name, String backingName) throws Exception {
        Path image = images.resolve(name);
        Cli.qemuImg("create", "-f", "qcow2", "-b", backingName, "-F", "raw", image.toString(), "64k").ok();
        return image;
    }

    @Test
    void backingFilesOutsideTheImageDirectoryAreRefusedByDefault() throws Exception {
        Files.createSymbolicLink(images.resolve("link.raw"), secret);
        for (String name : new String[] {"../outside/secret.raw", secret.toString(), "link.raw"}) {
            Path image = overlay("top-" + Math.abs(name.hashCode()) + ".qcow2", name);
            Cli.Result r = refusedServe(image);
            assertTrue(r.stderr().contains("secret.raw") || r.stderr().contains("link.raw"), r.stderr());
            assertTrue(r.stderr().contains("outside"), r.stderr());
            assertTrue(r.stderr().contains("--allow-backing"), "the message says how to allow it: " + r.stderr());
        }
    }

    @Test
    void aWholeChainStaysInTheTopImagesDirectory() throws Exception {
        Path sub = Files.createDirectories(images.resolve("sub"));
        Path middle = sub.resolve("middle.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-b", "../../outside/secret.raw", "-F", "raw", middle.toString(),
                "64k").ok();
        Path top = images.resolve("top.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-b", "sub/../sub/middle.qcow2", "-F", "qcow2", top.toString(),
                "64k").ok();
        Cli.Result r = refusedServe(top);
        assertTrue(r.stderr().contains("secret.raw") && r.stderr().contains("middle.qcow2"), r.stderr());
    }

    @Test
    void allowBackingAndNoConfineLetTheNamesBeFollowed() throws Exception {
        Path image = overlay("top.qcow2", "../outside/secret.raw");
        assertArrayEquals(secretBytes, served(image, "--allow-backing", outside.toString()));
        assertArrayEquals(secretBytes, served(image, "--no-confine"));
        Files.createDirectories(images.resolve("sub"));
        Path inside = images.resolve("base.raw");
        Files.write(inside, secretBytes);
        assertArrayEquals(secretBytes, served(overlay("inner.qcow2", "./sub/../base.raw")),
                "a name with .. that stays inside the directory is followed");
    }

    @Test
    void aDataFileOutsideIsNeitherServedNorWrittenThroughIo() throws Exception {
        Path victim = outside.resolve("victim.raw");
        Path absolute = images.resolve("absolute.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-o", "data_file=" + victim, absolute.toString(), "64k").ok();
        Path relative = images.resolve("relative.qcow2");
        Cli.jblk("create", "-f", "qcow2", "-o", "data_file=../outside/victim.raw", relative.toString(), "64k")
                .expect(0);
        Files.write(victim, secretBytes);
        for (Path image : new Path[] {absolute, relative}) {
            Cli.Result r = refusedServe(image);
            assertTrue(r.stderr().contains("victim.raw") && r.stderr().contains("outside"), r.stderr());
            Cli.Result io = Cli.jblk("io", "--confine", "-f", "qcow2", "-c", "write -P 0x11 0 4k", image.toString());
            assertEquals(1, io.exitCode(), io.stdout() + io.stderr());
            assertTrue(io.stderr().contains("victim.raw") && io.stderr().contains("outside"), io.stderr());
            assertArrayEquals(secretBytes, Files.readAllBytes(victim), "the victim file is untouched");
            // Allowed, the data file opens; its clusters are not allocated in the qcow2 layer, so they read zeros.
            Cli.Result allowed = Cli.jblk("io", "--allow-backing", outside.toString(), "-f", "qcow2", "-c",
                    "read -P 0 0 4k", image.toString());
            assertEquals(0, allowed.exitCode(), allowed.stdout() + allowed.stderr());
            assertFalse(allowed.stdout().contains("Pattern verification failed"), allowed.stdout());
        }
    }

    /** Serves {@code image}; the server must refuse to start. Fails with what leaked if it serves instead. */
    private Cli.Result refusedServe(Path image, String... flags) throws Exception {
        Path sock = dir.resolve("refused.sock");
        CompletableFuture<Cli.Result> serve = serve(image, sock, flags);
        for (int i = 0; i < 3000 && !serve.isDone() && !Files.exists(sock); i++) {
            Thread.sleep(10);
        }
        if (!serve.isDone()) {
            byte[] leaked = readAll(sock);
            serve.get(60, TimeUnit.SECONDS);
            fail("served " + image + " and let a client read " + leaked.length + " bytes starting '"
                    + new String(leaked, 0, Math.min(16, leaked.length)) + "'");
        }
        Cli.Result r = serve.get();
        assertEquals(1, r.exitCode(), r.stderr());
        assertFalse(r.stderr().contains("Exception"), r.stderr());
        return r;
    }

    /** Serves {@code image} with {@code flags} and returns what a client reads from it. */
    private byte[] served(Path image, String... flags) throws Exception {
        Path sock = dir.resolve("served.sock");
        CompletableFuture<Cli.Result> serve = serve(image, sock, flags);
        for (int i = 0; i < 3000 && !serve.isDone() && !Files.exists(sock); i++) {
            Thread.sleep(10);
        }
        assertTrue(Files.exists(sock), () -> "not served: " + serve.getNow(null));
        byte[] data = readAll(sock);
        serve.get(60, TimeUnit.SECONDS).expect(0);
        return data;
    }

    private static CompletableFuture<Cli.Result> serve(Path image, Path sock, String... flags) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("serve"));
        args.addAll(Arrays.asList(flags));
        args.addAll(java.util.List.of("-r", "-f", "qcow2", "-k", sock.toString(), image.toString()));
        CompletableFuture<Cli.Result> serve = new CompletableFuture<>();
        Thread.ofVirtual().start(() -> serve.complete(Cli.jblk(args.toArray(String[]::new))));
        return serve;
    }

    /** Copies the whole export to a file with nbdcopy (one connection, so a server without -t stops after it). */
    private byte[] readAll(Path sock) throws Exception {
        ExternalTool.assumeAvailable("nbdcopy");
        Path copy = dir.resolve("copy-" + System.nanoTime() + ".raw");
        ExternalTool.run("nbdcopy", "--connections=1", "nbd+unix:///?socket=" + sock, copy.toString()).ok();
        return Files.readAllBytes(copy);
    }
}
