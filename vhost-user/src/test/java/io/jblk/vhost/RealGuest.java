package io.jblk.vhost;

import io.jblk.api.testing.ExternalTool;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

/**
 * Runs the repository's test guest (guest/build.sh, guest/boot.sh, guest/check.sh): a Debian kernel and an
 * initramfs with busybox, e2fsprogs and fio, booted by QEMU on a vhost-user-blk socket. Missing packages fail the
 * test with what to install ({@code ./jblk-test} installs them); only {@code -Djblk.guest=off} skips, by request.
 */
final class RealGuest {
    /** The guest scripts, from the module directory surefire runs in. */
    static final Path GUEST = Path.of("..", "guest").toAbsolutePath().normalize();

    private RealGuest() {
    }

    static void requireTools() throws IOException, InterruptedException {
        assumeFalse("off".equals(System.getProperty("jblk.guest")), "real-guest tests switched off by -Djblk.guest=off");
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("qemu-system-x86_64", "qemu-img", "qemu-io", "e2fsck", "debugfs", "mkfs.ext4",
                "fio")) {
            if (!ExternalTool.available(tool) && !Files.isExecutable(Path.of("/usr/sbin", tool))
                    && !Files.isExecutable(Path.of("/sbin", tool))) {
                missing.add(tool);
            }
        }
        if (!missing.isEmpty()) {
            fail("the real-guest test needs " + missing + ": run ./jblk-test (installs them), or guest/build.sh"
                    + " --install, or pass -Djblk.guest=off to skip it");
        }
        // builds (or finds cached) the kernel and initramfs, so a build failure is reported as such
        ExternalTool.Result built = ExternalTool.run(GUEST.resolve("build.sh").toString());
        if (built.exitCode() != 0) {
            fail("guest/build.sh failed:\n" + built.stderr());
        }
    }

    /** A raw backing file written whole and a qcow2 overlay with extended L2 entries over it. */
    static Path overlayOverFullBacking(Path dir, String size, String clusterSize) throws Exception {
        Path base = dir.resolve("base.raw");
        Path overlay = dir.resolve("disk.qcow2");
        ExternalTool.run("qemu-img", "create", "-q", "-f", "raw", base.toString(), size).ok();
        ExternalTool.run("qemu-io", "-f", "raw", "-c", "write -P 0x5a 0 " + size, base.toString()).ok();
        ExternalTool.run("qemu-img", "create", "-q", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=" + clusterSize,
                "-b", base.toString(), "-F", "raw", overlay.toString()).ok();
        return overlay;
    }

    /** Boots the guest on {@code socket} with {@code args} (boot.sh options); returns the console and the result. */
    record Boot(int exitCode, String console, String accelerator) {
        /** The "JBLK: IRQ virtio0-req.N COUNT" lines: interrupts per request queue. */
        List<Long> queueInterrupts() {
            List<Long> counts = new ArrayList<>();
            Matcher m = Pattern.compile("JBLK: IRQ virtio\\d+-req\\.(\\d+) (\\d+)").matcher(console);
            while (m.find()) {
                counts.add(Long.parseLong(m.group(2)));
            }
            return counts;
        }

        void assertPassed() {
            assertEquals(0, exitCode, "guest workload failed:\n" + console);
            assertTrue(console.contains("JBLK: DONE"), console);
        }
    }

    static Boot boot(Path log, String... args) throws IOException, InterruptedException {
        return start(log, args).await();
    }

    /** A guest booting in the background; its console grows in the log file meanwhile. */
    record Running(Process process, Path log, Path stderr) {
        /** Waits until the console has a line containing {@code text}; fails if the guest ends first. */
        void awaitConsole(String text, long timeoutSeconds) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
            while (!(Files.exists(log) && Files.readString(log, StandardCharsets.ISO_8859_1).contains(text))) {
                if (!process.isAlive()) {
                    fail("the guest ended before printing '" + text + "':\n" + Files.readString(log));
                }
                if (System.nanoTime() > deadline) {
                    fail("the guest did not print '" + text + "' within " + timeoutSeconds + " s");
                }
                Thread.sleep(50);
            }
        }

        Boot await() throws IOException, InterruptedException {
            return finish(process, log, stderr);
        }
    }

    static Running start(Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(GUEST.resolve("boot.sh").toString(), "--log", log.toString()));
        command.addAll(List.of(args));
        Path stderr = Files.createTempFile("jblk-boot", ".err");
        Process p = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(stderr.toFile()).start();
        return new Running(p, log, stderr);
    }

    private static Boot finish(Process p, Path log, Path stderr) throws IOException, InterruptedException {
        try {
            if (!p.waitFor(600, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail("guest/boot.sh did not finish within 600 s");
            }
            String err = Files.readString(stderr, StandardCharsets.UTF_8);
            String console = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            Matcher accel = Pattern.compile("accelerator: (.*)").matcher(err);
            String accelerator = accel.find() ? accel.group(1) : "unknown";
            System.out.println("real guest: accelerator " + accelerator);
            return new Boot(p.exitValue(), console + "\n--- boot.sh ---\n" + err, accelerator);
        } finally {
            Files.deleteIfExists(stderr);
        }
    }

    /** guest/check.sh: qemu-img check, host e2fsck, guest md5s against the host's. */
    static void checkImage(Path image, Path log) throws IOException, InterruptedException {
        ExternalTool.run(GUEST.resolve("check.sh").toString(), image.toString(), log.toString()).ok();
    }
}
