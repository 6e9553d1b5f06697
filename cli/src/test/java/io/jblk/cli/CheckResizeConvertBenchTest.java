package io.jblk.cli;

import io.jblk.api.CheckResult;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** check, resize, convert and bench next to qemu-img on the same images. */
class CheckResizeConvertBenchTest {
    @TempDir
    Path dir;

    private Path raw(String name, String size, String... ioCommands) throws Exception {
        Path file = dir.resolve(name);
        Cli.qemuImg("create", "-f", "raw", file.toString(), size).ok();
        for (String c : ioCommands) {
            Cli.qemuIo("-f", "raw", "-c", c, file.toString()).ok();
        }
        return file;
    }

    @Test
    void checkOfAFormatWithoutChecksExits63LikeQemuImg() throws Exception {
        String file = raw("a.raw", "1M").toString();
        for (String output : new String[]{"human", "json"}) {
            ExternalTool.Result qemu = Cli.qemuImg("check", "-f", "raw", "--output=" + output, file);
            Cli.Result jblk = Cli.jblk("check", "-f", "raw", "--output=" + output, file);
            assertEquals(qemu.exitCode(), jblk.exitCode(), output);
            assertEquals(63, jblk.exitCode());
            assertEquals(qemu.stderr().replace("qemu-img: ", "jblk: "), jblk.stderr());
        }
    }

    /** Renders the numbers qemu-img check found on a real qcow2 image and compares with qemu-img's own text. */
    @Test
    void checkReportIsWordedLikeQemuImgForTheSameNumbers() throws Exception {
        Path image = dir.resolve("q.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", image.toString(), "64M").ok();
        Cli.qemuIo("-c", "write -P 1 0 200k", "-c", "write -P 2 10M 64k", image.toString()).ok();
        Map<?, ?> q = (Map<?, ?>) Cli.parse(Cli.qemuImg("check", "--output=json", image.toString()).ok().stdout());
        CheckResult r = new CheckResult(0, 0, (Long) q.get("check-errors"), 0, 0, (Long) q.get("image-end-offset"),
                (Long) q.get("total-clusters"), (Long) q.get("allocated-clusters"),
                q.containsKey("fragmented-clusters") ? (Long) q.get("fragmented-clusters") : 0, 0, List.of());
        StringWriter human = new StringWriter();
        CheckCommand.printHuman(new PrintWriter(human, true), r);
        assertEquals(Cli.qemuImg("check", image.toString()).ok().stdout(), human.toString());
        Cli.assertSameFields(q, Cli.parse(Json.pretty(CheckCommand.jsonFields(image, "qcow2", r, 0, 0))), "check");
    }

    @Test
    void resizeGrowsAndShrinksLikeQemuImg() throws Exception {
        Path ours = raw("ours.raw", "1M");
        Path theirs = raw("theirs.raw", "1M");
        for (String[] step : new String[][]{{"+1M"}, {"3M"}, {"--shrink", "-512k"}, {"--shrink", "1000k"}}) {
            String[] q = step.length == 2 ? new String[]{"resize", "-f", "raw", step[0], theirs.toString(), step[1]}
                    : new String[]{"resize", "-f", "raw", theirs.toString(), step[0]};
            String[] j = step.length == 2 ? new String[]{"resize", "-f", "raw", step[0], ours.toString(), step[1]}
                    : new String[]{"resize", "-f", "raw", ours.toString(), step[0]};
            Cli.qemuImg(q).ok();
            Cli.jblk(j).expect(0);
            assertEquals(Files.size(theirs), Files.size(ours), String.join(" ", step));
        }
        assertEquals(1, Cli.qemuImg("resize", "-f", "raw", theirs.toString(), "-512k").exitCode());
        Cli.jblk("resize", "-f", "raw", ours.toString(), "-512k").expect(1);
        assertEquals(Files.size(theirs), Files.size(ours));
    }

    @Test
    void convertCopiesContentAndLeavesZerosUnallocated() throws Exception {
        Path src = raw("src.raw", "4M", "write -P 0x61 0 4M", "write -P 0 1M 2M", "write -P 0x62 1500000 1");
        Path dst = dir.resolve("dst.raw");
        Cli.jblk("convert", "-f", "raw", "-O", "raw", src.toString(), dst.toString()).expect(0);
        Cli.qemuImg("compare", "-f", "raw", "-F", "raw", src.toString(), dst.toString()).ok();
        Object map = Cli.parse(Cli.qemuImg("map", "--output=json", "-f", "raw", dst.toString()).ok().stdout());
        long dataBytes = ((List<?>) map).stream().map(e -> (Map<?, ?>) e).filter(e -> (Boolean) e.get("data"))
                .mapToLong(e -> (Long) e.get("length")).sum();
        assertTrue(dataBytes <= (2L << 20) + 4096, "zeros were written out: " + map);
    }

    /**
     * {@code -S 0} turns sparse detection off, as in qemu-img: every byte is written, so the output is fully
     * allocated, zeros and the source's holes included (jblk ignored -S 0 and left them unallocated). The qcow2
     * outputs are byte-identical to qemu-img's; the raw outputs have the same map (every block allocated).
     */
    @Test
    void convertWithoutSparseDetectionAllocatesEverythingAsQemuImg() throws Exception {
        Path src = raw("src.raw", "4M", "write -P 0x61 0 1M", "write -P 0 1M 1M", "write -P 0x62 3M 4k");
        for (String format : new String[]{"qcow2", "raw"}) {
            Path ours = dir.resolve("ours." + format);
            Path theirs = dir.resolve("theirs." + format);
            Cli.qemuImg("convert", "-f", "raw", "-O", format, "-S", "0", src.toString(), theirs.toString()).ok();
            Cli.jblk("convert", "-f", "raw", "-O", format, "-S", "0", src.toString(), ours.toString()).expect(0);
            Cli.qemuImg("compare", "-f", "raw", "-F", format, src.toString(), ours.toString()).ok();
            Object qemuMap = Cli.parse(Cli.qemuImg("map", "--output=json", "-f", format, theirs.toString()).ok()
                    .stdout());
            Cli.assertSameFields(qemuMap, Cli.parse(Cli.qemuImg("map", "--output=json", "-f", format,
                    ours.toString()).ok().stdout()), format + " map");
            if (format.equals("qcow2")) {
                assertEquals(-1, java.util.Arrays.mismatch(Files.readAllBytes(theirs), Files.readAllBytes(ours)),
                        "qcow2 output differs from qemu-img's");
            }
        }
    }

    @Test
    void convertIntoExistingImageOverwritesEverything() throws Exception {
        Path src = raw("src.raw", "2M", "write -P 0x71 0 1M");
        Path dst = raw("dst.raw", "2M", "write -P 0x55 0 2M");
        Cli.jblk("convert", "-n", "-f", "raw", "-O", "raw", src.toString(), dst.toString()).expect(0);
        Cli.qemuImg("compare", "-f", "raw", "-F", "raw", src.toString(), dst.toString()).ok();
        Cli.jblk("convert", "-c", "-f", "raw", "-O", "raw", src.toString(), dir.resolve("c.raw").toString()).expect(1);
    }

    @Test
    void benchWritesThePatternAtQemuImgBenchOffsets() throws Exception {
        Path ours = raw("b1.raw", "1M");
        Path theirs = raw("b2.raw", "1M");
        String[] args = {"-c", "300", "-d", "8", "-f", "raw", "-w", "--pattern=0x5a", "-s", "4k", "-S", "12k"};
        Cli.qemuImg(concat(new String[]{"bench"}, args, new String[]{theirs.toString()})).ok();
        Cli.Result r = Cli.jblk(concat(new String[]{"bench"}, args, new String[]{ours.toString()})).expect(0);
        assertTrue(r.stdout().startsWith("Sending 300 write requests, 4096 bytes each, 8 in parallel (starting at "
                + "offset 0, step size 12288)\nRun completed in "), r.stdout());
        Cli.qemuImg("compare", "-f", "raw", "-F", "raw", theirs.toString(), ours.toString()).ok();
        assertFalse(Cli.qemuImg("compare", "-f", "raw", "-F", "raw", ours.toString(), raw("z.raw", "1M").toString())
                .exitCode() == 0, "bench wrote nothing");
    }

    /** Eight slots share qemu-img bench's sequential walk: each offset exactly once, none skipped or repeated. */
    @Test
    void benchWithManySlotsWritesEveryStepOnceAndLeavesNoScratchFile() throws Exception {
        Path image = dir.resolve("walk.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-o", "cluster_size=64k,extended_l2=on", image.toString(), "4M").ok();
        Cli.jblk("bench", "-q", "-w", "--pattern=0x6b", "-c", "1024", "-d", "8", "-s", "4k", "-f", "qcow2",
                image.toString()).expect(0);
        Cli.qemuImg("check", image.toString()).ok();
        Path copy = dir.resolve("walk.raw");
        Cli.qemuImg("convert", "-f", "qcow2", "-O", "raw", image.toString(), copy.toString()).ok();
        byte[] bytes = Files.readAllBytes(copy);
        for (int i = 0; i < bytes.length; i += 4096) {
            assertEquals(0x6b, bytes[i] & 0xff, "block at " + i + " was not written");
        }
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(p -> p.getFileName().toString().startsWith(".jblk-bench")).toList(),
                    "the warm-up scratch image is deleted");
        }
    }

    /**
     * Over a backing file the warm-up walks qemu-img bench's offsets on fresh scratch images, one per wrap of the walk;
     * the measured overlay must still end up exactly as qemu-img bench leaves the same overlay.
     */
    @Test
    void benchOverBackingWarmsUpAsideAndLeavesWhatQemuImgBenchLeaves() throws Exception {
        Path backing = raw("base.raw", "4M", "write -P 0x5a 0 4M");
        Path ours = dir.resolve("ours.qcow2");
        Path theirs = dir.resolve("theirs.qcow2");
        for (Path p : List.of(ours, theirs)) {
            Cli.qemuImg("create", "-f", "qcow2", "-o", "cluster_size=64k,extended_l2=on", "-b", backing.toString(),
                    "-F", "raw", p.toString(), "4M").ok();
        }
        // 4M / 68k: the walk wraps after 60 writes, so 300 warm-up writes take five scratch images.
        String[] flags = {"-w", "--pattern=0x6b", "-c", "100", "-d", "4", "-s", "4k", "-S", "69632", "-f", "qcow2"};
        List<String> jblk = new java.util.ArrayList<>(List.of("bench", "-q", "--warmup", "300"));
        jblk.addAll(List.of(flags));
        jblk.add(ours.toString());
        Cli.jblk(jblk.toArray(String[]::new)).expect(0);
        List<String> qemu = new java.util.ArrayList<>(List.of("bench"));
        qemu.addAll(List.of(flags));
        qemu.add(theirs.toString());
        Cli.qemuImg(qemu.toArray(String[]::new)).ok();
        Cli.qemuImg("check", ours.toString()).ok();
        Cli.qemuImg("compare", "-f", "qcow2", "-F", "qcow2", ours.toString(), theirs.toString()).ok();
        try (var files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(p -> p.getFileName().toString().startsWith(".jblk-bench")).toList(),
                    "the warm-up scratch images are deleted");
        }
    }

    @Test
    void benchJsonCountsTheRequestsAndRandomOffsetsStayInsideTheImage() throws Exception {
        Path image = raw("r.raw", "1M");
        Map<?, ?> m = (Map<?, ?>) Cli.parse(Cli.jblk("bench", "--json", "--random", "--seed", "7", "-w", "--pattern=0x11",
                "-c", "500", "-d", "4", "-f", "raw", image.toString()).expect(0).stdout());
        assertEquals(500L, m.get("requests"));
        assertEquals(true, m.get("random"));
        assertTrue((Double) m.get("iops") > 0, m.toString());
        // 500 random 4 KiB writes into 256 slots: some were written, and all of them with the pattern
        String written = Cli.qemuIo("-f", "raw", "-c", "map", image.toString()).ok().stdout();
        assertTrue(written.contains("allocated"), written);
        Path copy = dir.resolve("sum.raw");
        Cli.jblk("convert", "-f", "raw", "-O", "raw", image.toString(), copy.toString()).expect(0);
        byte[] bytes = Files.readAllBytes(copy);
        long pattern = 0;
        for (byte b : bytes) {
            assertTrue(b == 0 || b == 0x11, "unexpected byte " + b);
            pattern += b == 0x11 ? 1 : 0;
        }
        assertTrue(pattern > 0 && pattern % 4096 == 0, "pattern bytes " + pattern);
    }

    @Test
    void pngPictureIsAnImage() throws Exception {
        Path image = raw("p.raw", "1M", "write -P 1 0 64k");
        Path png = dir.resolve("p.png");
        Cli.jblk("map", "--picture", png.toString(), "-f", "raw", image.toString()).expect(0);
        java.awt.image.BufferedImage read = javax.imageio.ImageIO.read(png.toFile());
        assertTrue(read != null && read.getWidth() > 10 && read.getHeight() > 2, "not a PNG");
    }

    @Test
    void usageErrorsNameTheSubcommand() {
        Cli.Result r = Cli.jblk("info", "--bogus", "x");
        assertEquals(1, r.exitCode());
        assertTrue(r.stderr().startsWith("jblk: ") && r.stderr().contains("jblk info --help"), r.stderr());
    }

    private static String[] concat(String[]... parts) {
        return java.util.Arrays.stream(parts).flatMap(java.util.Arrays::stream).toArray(String[]::new);
    }
}
