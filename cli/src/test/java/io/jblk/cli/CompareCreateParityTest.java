package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jblk compare} and {@code jblk create} next to qemu-img: same exit codes and verdict lines. */
class CompareCreateParityTest {
    @TempDir
    Path dir;

    private String raw(String name, String size, String... ioCommands) throws Exception {
        String file = dir.resolve(name).toString();
        Cli.qemuImg("create", "-f", "raw", file, size).ok();
        for (String c : ioCommands) {
            Cli.qemuIo("-f", "raw", "-c", c, file).ok();
        }
        return file;
    }

    private void sameVerdict(String... args) throws Exception {
        ExternalTool.Result qemu = Cli.qemuImg(args);
        Cli.Result jblk = Cli.jblk(args);
        assertEquals(qemu.exitCode(), jblk.exitCode(), "exit code of compare " + String.join(" ", args)
                + "\nqemu-img: " + qemu.stdout() + qemu.stderr() + "\njblk: " + jblk.stdout() + jblk.stderr());
        assertEquals(qemu.stdout(), jblk.stdout(), "stdout of compare " + String.join(" ", args));
    }

    @Test
    void identicalDifferentAndResizedImagesGiveQemuImgsExitCodes() throws Exception {
        String a = raw("a.raw", "4M", "write -P 0x11 0 4M");
        String same = raw("same.raw", "4M", "write -P 0x11 0 4M");
        String differs = raw("differs.raw", "4M", "write -P 0x11 0 4M", "write -P 0x12 1000000 3");
        String longerZero = raw("longer0.raw", "5M", "write -P 0x11 0 4M");
        String longerData = raw("longer1.raw", "5M", "write -P 0x11 0 4M", "write -P 0x13 4500000 1");
        sameVerdict("compare", "-f", "raw", "-F", "raw", a, same);
        sameVerdict("compare", "-f", "raw", "-F", "raw", a, differs);
        sameVerdict("compare", "-f", "raw", "-F", "raw", a, longerZero);
        sameVerdict("compare", "-f", "raw", "-F", "raw", a, longerData);
        sameVerdict("compare", "-s", "-f", "raw", "-F", "raw", a, longerZero);
        assertEquals(1, Cli.jblk("compare", "-f", "raw", "-F", "raw", a, differs).exitCode());
    }

    @Test
    void unreadableImageIsExitCodeTwo() throws Exception {
        String a = raw("a.raw", "1M");
        String missing = dir.resolve("missing.raw").toString();
        assertEquals(2, Cli.qemuImg("compare", a, missing).exitCode());
        Cli.Result r = Cli.jblk("compare", a, missing).expect(2);
        assertTrue(r.stderr().startsWith("jblk: ") && r.stderr().contains("missing.raw"), r.stderr());
    }

    @Test
    void createdRawImageHasTheSizeQemuImgReads() throws Exception {
        for (String size : new String[]{"1536k", "3M", "1G", "0.5M", "4096"}) {
            Path file = dir.resolve("c" + size + ".raw");
            Cli.jblk("create", "-f", "raw", file.toString(), size).expect(0);
            Path ref = dir.resolve("r" + size + ".raw");
            Cli.qemuImg("create", "-f", "raw", ref.toString(), size).ok();
            assertEquals(Files.size(ref), Files.size(file), size);
        }
    }

    @Test
    void badSizeAndUnknownOptionFailWithExitOne() {
        Cli.Result r = Cli.jblk("create", "-f", "raw", dir.resolve("x.raw").toString(), "12Q").expect(1);
        assertTrue(r.stderr().contains("12Q"), r.stderr());
        Cli.Result o = Cli.jblk("create", "-f", "raw", "-o", "cluster_size=64k", dir.resolve("y.raw").toString(), "1M")
                .expect(1);
        assertTrue(o.stderr().contains("cluster_size"), o.stderr());
    }

    @Test
    void optionHelpListsTheDriversOptions() {
        String help = Cli.jblk("create", "-f", "raw", "-o", "help").expect(0).stdout();
        assertTrue(help.startsWith("Supported raw options:\n  size=<size>"), help);
    }
}
