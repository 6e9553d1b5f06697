package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jblk io} and {@code qemu-io} run the same command scripts on copies of one image: same output, same data. */
class IoParityTest {
    @TempDir
    Path dir;

    /** Timings differ from run to run and failure causes are worded by each tool; everything else must match. */
    private static String normalise(String output) {
        return output.lines()
                .map(l -> l.matches(".*, \\d+ ops; .*") ? "<timing>" : l)
                .map(l -> l.replaceAll("^(\\w+) failed: .*", "$1 failed: <cause>"))
                .reduce("", (a, b) -> a + b + "\n");
    }

    private void sameAsQemuIo(String format, Path image, String... script) throws Exception {
        Path theirs = dir.resolve("qemu-" + image.getFileName());
        Path ours = dir.resolve("jblk-" + image.getFileName());
        Files.copy(image, theirs);
        Files.copy(image, ours);
        List<String> qemuArgs = new ArrayList<>(List.of("-f", format));
        List<String> jblkArgs = new ArrayList<>(List.of("io", "-f", format));
        for (String c : script) {
            qemuArgs.addAll(List.of("-c", c));
            jblkArgs.addAll(List.of("-c", c));
        }
        qemuArgs.add(theirs.toString());
        jblkArgs.add(ours.toString());
        ExternalTool.Result qemu = Cli.qemuIo(qemuArgs.toArray(String[]::new));
        Cli.Result jblk = Cli.jblk(jblkArgs.toArray(String[]::new));
        assertEquals(normalise(qemu.stdout()), normalise(jblk.stdout()), "stdout for " + List.of(script));
        assertEquals(qemu.stderr(), jblk.stderr(), "stderr for " + List.of(script));
        assertEquals(qemu.exitCode(), jblk.exitCode(), "exit code for " + List.of(script));
        Cli.qemuImg("compare", "-f", format, "-F", format, theirs.toString(), ours.toString()).ok();
    }

    private Path fullRaw(String size) throws Exception {
        Path file = dir.resolve("base.raw");
        Cli.qemuImg("create", "-f", "raw", file.toString(), size).ok();
        Cli.qemuIo("-f", "raw", "-c", "write -P 0x3c 0 " + size, file.toString()).ok();
        return file;
    }

    @Test
    void writesReadsPatternsAndDumpsLikeQemuIo() throws Exception {
        sameAsQemuIo("raw", fullRaw("2M"),
                "write -P 0xab 0 64k", "read -P 0xab 0 64k", "read -P 0xac 512 4k", "read -v 60k 40",
                "write -P 7 100000 3", "read -v 99990 30", "write -z 64k 64k", "read -P 0 64k 64k",
                "write -zu 128k 64k", "read -P 0 128k 64k", "flush", "read -q -P 0x3c 1M 4k", "write 1M 512",
                "read -P 0xcd 1M 512");
    }

    @Test
    void failuresAreReportedAndTheRunGoesOn() throws Exception {
        sameAsQemuIo("raw", fullRaw("1M"),
                "read -P 1 0 512", "bogus", "read 0", "write -u 0 512", "read 1M 1", "read -P 0x3c 4k 4k");
    }

    @Test
    void mapAndAllocOfAFullImageMatchQemuIo() throws Exception {
        sameAsQemuIo("raw", fullRaw("3M"), "map", "alloc 0 128k", "alloc 64k", "alloc 1M 2M");
    }

    @Test
    void numbersAreWordedLikeQemuIo() {
        assertEquals("64 KiB", QemuIoText.cvtstr(65536));
        assertEquals("3.812 MiB", QemuIoText.cvtstr(3.8125 * 1048576));
        assertEquals("62.938 MiB", QemuIoText.cvtstr(0x3ef0000));
        assertEquals("1.062 MiB", QemuIoText.cvtstr(0x110000));
        assertEquals("40 bytes", QemuIoText.cvtstr(40));
        assertTrue(QemuIoText.report("wrote", 0, 3, 1, 0.001).startsWith("wrote 3/3 bytes at offset 0\n3 bytes, 1 ops; 00.00 sec ("));
    }
}
