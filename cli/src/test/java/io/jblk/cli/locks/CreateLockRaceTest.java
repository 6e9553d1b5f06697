package io.jblk.cli.locks;

import io.jblk.api.testing.ExternalTool;
import io.jblk.cli.Main;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An image being created is locked from its first byte to its last: while a {@code preallocation=metadata} create
 * runs (seconds), qemu-io and jblk io keep trying to write into it, and every try must be refused by the lock, as
 * it is while qemu-img creates the same image. (Before the fix jblk formatted and preallocated through an unlocked
 * open: qemu-io's writes went through and were lost when the creator wrote its tables over them.)
 */
class CreateLockRaceTest {
    private static final String SIZE = "64G"; // qemu-img takes about a second to preallocate it, jblk longer

    @TempDir
    Path dir;

    /** What the intruders met while the creator ran. */
    private record Tally(int refused, int wrote, List<String> writes) {
    }

    @Test
    void writersAreRefusedWhileAnImageIsCreated() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        Path qemuImage = dir.resolve("by-qemu.qcow2");
        Tally qemu = race(qemuImage, () -> ExternalTool.run("qemu-img", "create", "-q", "-f", "qcow2", "-o",
                "preallocation=metadata", qemuImage.toString(), SIZE).exitCode());
        Files.delete(qemuImage);
        Path jblkImage = dir.resolve("by-jblk.qcow2");
        Tally jblk = race(jblkImage, () -> Main.run(new PrintWriter(new StringWriter()),
                new PrintWriter(new StringWriter()), "create", "-q", "-f", "qcow2", "-o", "preallocation=metadata",
                jblkImage.toString(), SIZE));
        System.out.println("while qemu-img created: " + qemu + "\nwhile jblk created: " + jblk);
        assertEquals(0, qemu.wrote(), "QEMU against itself, the expectation: " + qemu.writes());
        assertTrue(qemu.refused() > 0, "the reference race had tries while qemu-img ran: " + qemu);
        assertTrue(jblk.refused() >= 3, "tries while jblk created: " + jblk);
        assertEquals(0, jblk.wrote(), "writes that went through while jblk created the image: " + jblk.writes());
        ExternalTool.qemuImg("check", jblkImage.toString()).ok();
        Files.delete(jblkImage);
    }

    @FunctionalInterface
    private interface Creator {
        int create() throws Exception;
    }

    /**
     * Runs {@code creator} on a thread and, once the image file exists, alternately writes into it with qemu-io
     * and jblk io until the creator returns.
     */
    private Tally race(Path image, Creator creator) throws Exception {
        AtomicInteger exit = new AtomicInteger(-1);
        Thread thread = Thread.ofPlatform().start(() -> {
            try {
                exit.set(creator.create());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        int refused = 0;
        List<String> writes = new ArrayList<>();
        boolean qemuTurn = true;
        while (thread.isAlive()) {
            if (!Files.exists(image)) {
                Thread.sleep(2);
                continue;
            }
            Verdict v;
            String wrote;
            if (qemuTurn) {
                ExternalTool.Result r = ExternalTool.run("qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 64k",
                        image.toString());
                v = Verdict.of(r.exitCode(), r.stderr());
                wrote = r.exitCode() == 0 && r.stdout().contains("wrote") ? "qemu-io: " + r.stdout().strip() : null;
            } else {
                StringWriter out = new StringWriter();
                StringWriter err = new StringWriter();
                int code = Main.run(new PrintWriter(out), new PrintWriter(err), "io", "-f", "qcow2", "-c",
                        "write -P 0x5a 0 64k", image.toString());
                v = Verdict.of(code, err.toString());
                wrote = code == 0 && out.toString().contains("wrote") ? "jblk io: " + out.toString().strip() : null;
            }
            // Only what happened while the creator still ran counts: a try that opened just after it finished may
            // rightly succeed.
            if (thread.isAlive()) {
                if (v.refused()) {
                    refused++;
                } else if (wrote != null) {
                    writes.add(wrote);
                }
            }
            qemuTurn = !qemuTurn;
        }
        thread.join();
        assertEquals(0, exit.get(), "the creator succeeded");
        return new Tally(refused, writes.size(), writes);
    }
}
