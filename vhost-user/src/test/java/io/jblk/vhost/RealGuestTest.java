package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Linux guest (Debian's cloud kernel, virtio_blk, ext4, fio) on a vhost-user-blk disk in QEMU 7.2: mkfs.ext4
 * on a qcow2 with extended L2 entries over a raw backing file, files written with fsync, small files, deletes,
 * O_DIRECT fio with verification on both request queues (-smp 2, num-queues=2), fstrim, e2fsck, a read-only remount
 * with md5 sums; then on the host: qemu-img check clean, e2fsck of the converted image clean, every guest md5 equal
 * to the host's.
 */
class RealGuestTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void tools() throws Exception {
        RealGuest.requireTools();
    }

    /**
     * The same workload and checks against QEMU's own back-end, so the guest side and the host checks are proven
     * independently of jblk.
     */
    @Test
    void qemuStorageDaemonPassesTheWorkload() throws Exception {
        Path image = RealGuest.overlayOverFullBacking(dir, "128M", "128k");
        Path socket = dir.resolve("qsd.sock");
        Process qsd = new ProcessBuilder("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=file0,filename=" + image + ",cache.direct=on",
                "--blockdev", "driver=qcow2,node-name=disk0,file=file0,discard=unmap",
                "--export", "type=vhost-user-blk,id=e0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=on,num-queues=2")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        try {
            awaitSocket(socket, qsd);
            Path log = dir.resolve("console.log");
            RealGuest.Boot boot = RealGuest.boot(log, "--socket", socket.toString(), "--smp", "2", "--queues", "2");
            boot.assertPassed();
            assertBothQueuesUsed(boot);
        } finally {
            qsd.destroy();
            qsd.waitFor(30, TimeUnit.SECONDS);
        }
        RealGuest.checkImage(image, dir.resolve("console.log"));
    }

    @Test
    void jblkPassesTheWorkload() throws Exception {
        Path image = RealGuest.overlayOverFullBacking(dir, "128M", "128k");
        Path socket = dir.resolve("jblk.sock");
        BlockDevice device = BlockDrivers.open(image, "qcow2", OpenOptions.defaults());
        VhostUserBlkServer server = VhostUserBlkServer.builder(device, socket).queues(2).serial("jblk-real-guest")
                .closeDeviceOnClose(true).build();
        Thread serving = Thread.ofPlatform().name("jblk-vhost-server").start(() -> {
            try {
                server.run();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Path log = dir.resolve("console.log");
        try {
            RealGuest.Boot boot = RealGuest.boot(log, "--socket", socket.toString(), "--smp", "2", "--queues", "2");
            boot.assertPassed();
            assertBothQueuesUsed(boot);
            assertEquals(1, server.connections(), "one front-end connection (SeaBIOS and Linux share it)");
        } finally {
            server.close();
            serving.join(30_000);
        }
        RealGuest.checkImage(image, log);
    }

    /**
     * The back-end is killed (SIGKILL) while the guest writes files with fsync, and started again on the same
     * socket: the image as the dead back-end left it has no corruption, QEMU reconnects (reconnect=1), the requests
     * the dead back-end had in flight are resubmitted from the in-flight log, and the guest finishes its workload.
     * Every file the guest reported durable before the kill reads back with the content it had then.
     */
    @Test
    void backendKilledMidRunRestartsAndTheGuestCarriesOn() throws Exception {
        Path image = RealGuest.overlayOverFullBacking(dir, "128M", "128k");
        Path socket = dir.resolve("crash.sock");
        Path hold = dir.resolve("hold");
        Process backend = startBackend(socket, image, "20", hold.toString()); // writes held once hold exists
        Path log = dir.resolve("console.log");
        RealGuest.Running guest = RealGuest.start(log, "--socket", socket.toString(), "--reconnect", "--smp", "2",
                "--queues", "2", "--workload", "crash");
        try {
            guest.awaitConsole("JBLK: SYNCED ./d/f8 ", 400);
            Files.createFile(hold);
            awaitLine(dir.resolve("backend.log"), "holding a write", backend); // a write is in flight now
            backend.destroyForcibly();
            assertTrue(backend.waitFor(30, TimeUnit.SECONDS));
            // no writer now: the image as the killed back-end left it (leaks are allowed after a crash, exit 3)
            ExternalTool.Result check = ExternalTool.run("qemu-img", "check", image.toString());
            assertTrue(check.exitCode() == 0 || check.exitCode() == 3, "qemu-img check after the kill:\n"
                    + check.stdout() + check.stderr());
            assertFalse(check.stdout().contains("ERROR"), check.stdout());
            backend = startBackend(socket, image);
            RealGuest.Boot boot = guest.await();
            Files.readString(dir.resolve("backend.log")).lines().filter(l -> l.startsWith("INFO") || l.startsWith("WARN"))
                    .forEach(l -> System.out.println("back-end: " + l));
            assertTrue(Files.readString(dir.resolve("backend.log")).contains("resubmitting"),
                    "the restarted back-end resubmitted what the killed one had in flight");
            boot.assertPassed();
            Map<String, String> synced = lines(boot.console(), "JBLK: SYNCED ");
            Map<String, String> atEnd = lines(boot.console(), "JBLK: MD5 ");
            assertEquals(40, synced.size(), boot.console());
            synced.forEach((path, md5) -> assertEquals(md5, atEnd.get(path), path + " changed after it was synced"));
        } finally {
            guest.process().destroyForcibly();
            backend.destroy(); // SIGTERM: a clean stop
            assertTrue(backend.waitFor(60, TimeUnit.SECONDS), "the back-end stops on SIGTERM");
        }
        assertFalse(Files.exists(socket), "a clean stop removes the socket");
        RealGuest.checkImage(image, log);
    }

    /** "PREFIX path md5" (SYNCED) or "PREFIX md5  path" (md5sum's order, MD5) lines as path -> md5. */
    private static Map<String, String> lines(String console, String prefix) {
        Map<String, String> out = new LinkedHashMap<>();
        for (String line : console.split("\r?\n")) {
            if (line.startsWith(prefix)) {
                String[] f = line.substring(prefix.length()).trim().split("\\s+");
                if (f[0].startsWith("./")) {
                    out.put(f[0], f[1]);
                } else {
                    out.put(f[1], f[0]);
                }
            }
        }
        return out;
    }

    private static void awaitLine(Path log, String line, Process owner) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (!Files.readAllLines(log).contains(line)) {
            assertTrue(owner.isAlive() && System.nanoTime() < deadline, "no '" + line + "' from the back-end: "
                    + Files.readString(log));
            Thread.sleep(20);
        }
    }

    /** Starts the back-end; {@code writeDelay} is [delay ms, hold file] (see {@link SlowWrites}). */
    private Process startBackend(Path socket, Path image, String... writeDelay) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path out = dir.resolve("backend.log");
        long before = servingLines(out);
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), GuestBackendMain.class.getName(), socket.toString(),
                image.toString(), "qcow2", "2", writeDelay.length > 0 ? writeDelay[0] : "0",
                writeDelay.length > 1 ? writeDelay[1] : dir.resolve("no-hold").toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(
                        out.toFile())).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (servingLines(out) == before) { // the killed one's socket file is still there: wait for the new one
            assertTrue(p.isAlive() && System.nanoTime() < deadline, "back-end did not start: "
                    + Files.readString(out));
            Thread.sleep(20);
        }
        return p;
    }

    private static long servingLines(Path log) throws java.io.IOException {
        return Files.exists(log)
                ? Files.readAllLines(log).stream().filter("serving"::equals).count() : 0;
    }

    static void assertBothQueuesUsed(RealGuest.Boot boot) {
        List<Long> irqs = boot.queueInterrupts();
        assertEquals(2, irqs.size(), "two request queues in /proc/interrupts:\n" + boot.console());
        assertTrue(irqs.stream().allMatch(n -> n > 0), "both queues completed requests: " + irqs);
    }

    static void awaitSocket(Path socket, Process owner) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            if (!owner.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("the back-end did not create " + socket);
            }
            Thread.sleep(20);
        }
    }
}
