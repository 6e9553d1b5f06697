package io.jblk.cli;

import io.jblk.api.BlockDrivers;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Every subcommand on qcow2 images next to qemu-img/qemu-io; runs once the qcow2 driver is installed. */
class Qcow2ParityTest {
    @TempDir
    Path dir;

    @BeforeEach
    void needsQcow2() {
        assumeTrue(BlockDrivers.byName("qcow2").isPresent(), "the qcow2 driver is not installed yet");
    }

    private Path backing(String size) throws Exception {
        Path file = dir.resolve("base.raw");
        Cli.qemuImg("create", "-f", "raw", file.toString(), size).ok();
        Cli.qemuIo("-f", "raw", "-c", "write -P 0x3c 0 " + size, file.toString()).ok();
        return file;
    }

    private Path overlay(String name, String options, boolean backed) throws Exception {
        Path file = dir.resolve(name);
        List<String> args = new ArrayList<>(List.of("create", "-f", "qcow2", "-o", options));
        if (backed) {
            backing("8M");
            args.addAll(List.of("-b", "base.raw", "-F", "raw"));
        }
        args.add(file.toString());
        args.add("8M");
        Cli.qemuImg(args.toArray(String[]::new)).ok();
        return file;
    }

    /** Subcluster-granular writes, zeroes and discards, done by qemu-io. */
    private static void scribble(Path image) throws Exception {
        Cli.qemuIo("-c", "write -P 0xab 8k 4k", "-c", "write -P 0xcd 200k 40k", "-c", "write -z 512k 128k",
                "-c", "write -z -u 1M 64k", "-c", "write -P 1 2M 512k", "-c", "discard 2M 128k",
                "-c", "write -z 3M 4k", image.toString()).ok();
    }

    @Test
    void infoJsonMatchesQemuImgForEveryLayout() throws Exception {
        for (String options : new String[]{"cluster_size=65536", "cluster_size=128k,extended_l2=on",
                "cluster_size=2M,extended_l2=on,lazy_refcounts=on", "refcount_bits=1", "compat=0.10"}) {
            for (boolean backed : new boolean[]{false, true}) {
                Path image = overlay("i.qcow2", options, backed);
                scribble(image);
                Object qemu = Cli.parse(Cli.qemuImg("info", "--output=json", "--backing-chain", image.toString()).ok().stdout());
                Object jblk = Cli.parse(Cli.jblk("info", "--output=json", "--backing-chain", image.toString()).expect(0).stdout());
                Cli.assertSameFields(qemu, jblk, options + (backed ? " backed" : ""), "io-engine");
                Files.delete(image);
            }
        }
    }

    @Test
    void mapJsonMatchesQemuImgAtSubclusterGranularity() throws Exception {
        for (String options : new String[]{"cluster_size=64k", "cluster_size=128k,extended_l2=on",
                "cluster_size=16k,extended_l2=on"}) {
            for (boolean backed : new boolean[]{false, true}) {
                Path image = overlay("m.qcow2", options, backed);
                scribble(image);
                Object qemu = Cli.parse(Cli.qemuImg("map", "--output=json", image.toString()).ok().stdout());
                Object jblk = Cli.parse(Cli.jblk("map", "--output=json", image.toString()).expect(0).stdout());
                Cli.assertSameFields(qemu, jblk, options + (backed ? " backed" : ""));
                assertEquals(Cli.qemuImg("map", image.toString()).ok().stdout(), Cli.jblk("map", image.toString()).stdout());
                Files.delete(image);
            }
        }
    }

    @Test
    @SuppressWarnings("unchecked")
    void checkOfCleanLeakyAndCorruptImagesMatchesQemuImg() throws Exception {
        Path clean = overlay("clean.qcow2", "cluster_size=64k", false);
        Cli.qemuIo("-c", "write -P 1 0 64k", "-c", "write -P 2 1M 64k", clean.toString()).ok();
        try (var device = BlockDrivers.open(clean, "qcow2", io.jblk.api.OpenOptions.builder().readOnly(true).build())) {
            assumeTrue(device instanceof io.jblk.api.ImageChecker, "the qcow2 driver does not implement ImageChecker yet");
        }
        sameCheck(clean);

        Path leaky = dir.resolve("leaky.qcow2");
        Files.copy(clean, leaky);
        setL2Entry(leaky, 0, 0); // the data cluster of offset 0 keeps its refcount but loses its reference
        assertEquals(3, sameCheck(leaky));

        Path corrupt = dir.resolve("corrupt.qcow2");
        Files.copy(clean, corrupt);
        setL2Entry(corrupt, 0, 0x8000000000000000L | (Files.size(corrupt) + (1 << 20))); // points past the end
        // Counted twice by both: past the end of the file, and OFLAG_COPIED against refcount 0.
        ExternalTool.Result qemu = Cli.qemuImg("check", "--output=json", corrupt.toString());
        Cli.Result jblk = Cli.jblk("check", "--output=json", corrupt.toString());
        assertEquals(2, qemu.exitCode());
        assertEquals(2, jblk.exitCode(), jblk.stdout() + jblk.stderr());
        Map<String, Object> q = (Map<String, Object>) Cli.parse(qemu.stdout());
        Map<String, Object> j = (Map<String, Object>) Cli.parse(jblk.stdout());
        Cli.assertSameFields(q, j, "check corrupt.qcow2");

        for (String mode : new String[]{"leaks", "all"}) {
            for (String output : new String[]{"json", "human"}) {
                Path fixedByUs = dir.resolve("us-" + mode + output + ".qcow2");
                Path fixedByQemu = dir.resolve("qemu-" + mode + output + ".qcow2");
                Files.copy(leaky, fixedByUs);
                Files.copy(leaky, fixedByQemu);
                Cli.Result ours = Cli.jblk("check", "-r", mode, "--output=" + output, fixedByUs.toString()).expect(0);
                String theirs = Cli.qemuImg("check", "-r", mode, "--output=" + output, fixedByQemu.toString()).ok().stdout();
                if (output.equals("json")) {
                    Map<String, Object> qr = new java.util.LinkedHashMap<>((Map<String, Object>) Cli.parse(theirs));
                    Map<String, Object> jr = new java.util.LinkedHashMap<>((Map<String, Object>) Cli.parse(ours.stdout()));
                    qr.remove("filename");
                    jr.remove("filename");
                    Cli.assertSameFields(qr, jr, "check -r " + mode);
                } else {
                    assertEquals(theirs, ours.stdout(), "check -r " + mode);
                }
                Cli.qemuImg("check", fixedByUs.toString()).ok();
            }
        }
    }

    /** Runs both checks in JSON and human form; returns the exit code after asserting they agree. */
    private static int sameCheck(Path image) throws Exception {
        ExternalTool.Result qemu = Cli.qemuImg("check", "--output=json", image.toString());
        Cli.Result jblk = Cli.jblk("check", "--output=json", image.toString());
        assertEquals(qemu.exitCode(), jblk.exitCode(), "check exit code of " + image + "\n" + qemu.stdout() + jblk.stdout());
        Cli.assertSameFields(Cli.parse(qemu.stdout()), Cli.parse(jblk.stdout()), "check " + image.getFileName());
        assertEquals(Cli.qemuImg("check", image.toString()).stdout(), Cli.jblk("check", image.toString()).stdout());
        return jblk.exitCode();
    }

    /** Overwrites L2 entry {@code index} of the first L2 table (standard 8-byte entries). */
    private static void setL2Entry(Path image, int index, long value) throws Exception {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long l1Offset = read64(ch, 40);
            long l2Offset = read64(ch, l1Offset) & 0x00fffffffffffe00L;
            assertTrue(l2Offset != 0, "no L2 table");
            ByteBuffer b = ByteBuffer.allocate(8).putLong(0, value);
            ch.write(b, l2Offset + 8L * index);
        }
    }

    private static long read64(FileChannel ch, long offset) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(8);
        ch.read(b, offset);
        return b.getLong(0);
    }

    @Test
    void compareAgreesWithQemuImgAcrossFormats() throws Exception {
        Path image = overlay("c.qcow2", "cluster_size=128k,extended_l2=on", true);
        Path base = dir.resolve("base.raw");
        assertEquals(Cli.qemuImg("compare", base.toString(), image.toString()).exitCode(),
                Cli.jblk("compare", base.toString(), image.toString()).expect(0).exitCode());
        scribble(image);
        ExternalTool.Result q = Cli.qemuImg("compare", base.toString(), image.toString());
        Cli.Result j = Cli.jblk("compare", base.toString(), image.toString());
        assertEquals(q.exitCode(), j.exitCode());
        assertEquals(q.stdout(), j.stdout());

        Path empty = dir.resolve("empty.qcow2");
        Path hole = dir.resolve("hole.raw");
        Path bigger = dir.resolve("bigger.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", empty.toString(), "4M").ok();
        Cli.qemuImg("create", "-f", "raw", hole.toString(), "4M").ok();
        Cli.qemuImg("create", "-f", "qcow2", bigger.toString(), "5M").ok();
        for (String[] args : new String[][]{{"compare", empty.toString(), hole.toString()},
                {"compare", "-s", empty.toString(), hole.toString()}, {"compare", "-s", hole.toString(), empty.toString()},
                {"compare", empty.toString(), bigger.toString()}, {"compare", "-s", empty.toString(), bigger.toString()}}) {
            ExternalTool.Result qemu = Cli.qemuImg(args);
            Cli.Result jblk = Cli.jblk(args);
            assertEquals(qemu.exitCode(), jblk.exitCode(), String.join(" ", args));
            assertEquals(qemu.stdout(), jblk.stdout(), String.join(" ", args));
        }
    }

    @Test
    void convertRawToQcow2AndToExtendedL2IsReadableByQemu() throws Exception {
        Path base = backing("8M");
        Cli.qemuIo("-f", "raw", "-c", "write -P 0 1M 3M", base.toString()).ok();
        Path q = dir.resolve("conv.qcow2");
        Cli.jblk("convert", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=64k", base.toString(), q.toString()).expect(0);
        Cli.qemuImg("check", q.toString()).ok();
        Cli.qemuImg("compare", "-f", "raw", base.toString(), q.toString()).ok();
        Path ext = dir.resolve("conv-ext.qcow2");
        Cli.jblk("convert", "-p", "-O", "qcow2", "-o", "cluster_size=128k,extended_l2=on", q.toString(), ext.toString())
                .expect(0);
        Cli.qemuImg("check", ext.toString()).ok();
        Cli.qemuImg("compare", q.toString(), ext.toString()).ok();
        Map<?, ?> info = (Map<?, ?>) Cli.parse(Cli.qemuImg("info", "--output=json", ext.toString()).ok().stdout());
        assertEquals(true, ((Map<?, ?>) ((Map<?, ?>) info.get("format-specific")).get("data")).get("extended-l2"));
        assertTrue((Long) info.get("actual-size") < (7L << 20), "zeros were allocated: " + info);
    }

    @Test
    void createdImagesHaveTheLayoutQemuImgCreates() throws Exception {
        for (String options : new String[]{"cluster_size=64k", "cluster_size=128k,extended_l2=on",
                "cluster_size=1M,extended_l2=on,lazy_refcounts=on,refcount_bits=8"}) {
            Path ours = dir.resolve("ours.qcow2");
            Path theirs = dir.resolve("theirs.qcow2");
            Cli.jblk("create", "-f", "qcow2", "-o", options, ours.toString(), "1G").expect(0);
            Cli.qemuImg("create", "-f", "qcow2", "-o", options, theirs.toString(), "1G").ok();
            Map<?, ?> a = (Map<?, ?>) Cli.parse(Cli.qemuImg("info", "--output=json", ours.toString()).ok().stdout());
            Map<?, ?> b = (Map<?, ?>) Cli.parse(Cli.qemuImg("info", "--output=json", theirs.toString()).ok().stdout());
            assertEquals(b.get("format-specific"), a.get("format-specific"), options);
            assertEquals(b.get("cluster-size"), a.get("cluster-size"), options);
            Cli.qemuImg("check", ours.toString()).ok();
            Files.delete(ours);
            Files.delete(theirs);
        }
    }

    @Test
    void ioScriptsGiveQemuIosVerdictsOnQcow2() throws Exception {
        Path image = overlay("io.qcow2", "cluster_size=64k,extended_l2=on", true);
        Path theirs = dir.resolve("theirs.qcow2");
        Files.copy(image, theirs);
        String[] script = {"write -P 0xab 8k 4k", "read -P 0xab 8k 4k", "read -P 0x3c 0 8k", "write -z 64k 64k",
                "read -P 0 64k 64k", "discard 0 64k", "map", "alloc 0 64k", "alloc 8k 4k", "read -P 0x3c 12k 4k"};
        List<String> j = new ArrayList<>(List.of("io"));
        List<String> q = new ArrayList<>();
        for (String c : script) {
            j.addAll(List.of("-c", c));
            q.addAll(List.of("-c", c));
        }
        j.add(image.toString());
        q.add(theirs.toString());
        ExternalTool.Result qemu = Cli.qemuIo(q.toArray(String[]::new));
        Cli.Result jblk = Cli.jblk(j.toArray(String[]::new));
        assertEquals(qemu.exitCode(), jblk.exitCode(), qemu.stdout() + "\n---\n" + jblk.stdout());
        assertEquals(strip(qemu.stdout()), strip(jblk.stdout()));
        Cli.qemuImg("compare", theirs.toString(), image.toString()).ok();
    }

    @Test
    void relativeImagePathsGiveQemuImgsRelativeBackingNames() throws Exception {
        Path folder = Path.of("target", "relative-" + System.nanoTime());
        Files.createDirectories(folder);
        try {
            Path base = folder.resolve("b.raw");
            Path top = folder.resolve("t.qcow2");
            Cli.qemuImg("create", "-f", "raw", base.toString(), "1M").ok();
            Cli.jblk("create", "-f", "qcow2", "-b", "b.raw", "-F", "raw", top.toString()).expect(0);
            for (String[] args : new String[][]{{"info", "--output=json", "--backing-chain", top.toString()},
                    {"map", "--output=json", top.toString()}}) {
                Cli.assertSameFields(Cli.parse(Cli.qemuImg(args).ok().stdout()), Cli.parse(Cli.jblk(args).expect(0).stdout()),
                        String.join(" ", args), "io-engine");
            }
            assertEquals(Cli.qemuImg("map", top.toString()).ok().stdout(), Cli.jblk("map", top.toString()).stdout());
        } finally {
            try (var files = Files.list(folder)) {
                for (Path p : files.toList()) {
                    Files.delete(p);
                }
            }
            Files.delete(folder);
        }
    }

    @Test
    void compressedConvertAndResizeAreWhatQemuImgReads() throws Exception {
        Path base = backing("8M");
        Path c = dir.resolve("compressed.qcow2");
        Cli.jblk("convert", "-c", "-f", "raw", "-O", "qcow2", "-o", "cluster_size=64k", base.toString(), c.toString())
                .expect(0);
        Map<?, ?> check = (Map<?, ?>) Cli.parse(Cli.qemuImg("check", "--output=json", c.toString()).ok().stdout());
        assertTrue(check.containsKey("compressed-clusters") && (Long) check.get("compressed-clusters") > 0, check.toString());
        Cli.qemuImg("compare", "-f", "raw", base.toString(), c.toString()).ok();
        Cli.assertSameFields(check, Cli.parse(Cli.jblk("check", "--output=json", c.toString()).expect(0).stdout()), "check");
        Path z = dir.resolve("zstd.qcow2");
        Cli.jblk("convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", c.toString(), z.toString()).expect(0);
        Map<?, ?> zinfo = (Map<?, ?>) Cli.parse(Cli.qemuImg("info", "--output=json", z.toString()).ok().stdout());
        assertEquals("zstd", ((Map<?, ?>) ((Map<?, ?>) zinfo.get("format-specific")).get("data")).get("compression-type"));
        Cli.qemuImg("compare", "-f", "raw", base.toString(), z.toString()).ok();

        Path ours = dir.resolve("ours.qcow2");
        Path theirs = dir.resolve("theirs.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-o", "cluster_size=64k,extended_l2=on", ours.toString(), "8M").ok();
        Cli.qemuIo("-c", "write -P 7 0 8M", ours.toString()).ok();
        Files.copy(ours, theirs);
        for (String[] step : new String[][]{{"+1G"}, {"--shrink", "-1G"}, {"--shrink", "5M"}}) {
            String[] j = step.length == 2 ? new String[]{"resize", step[0], ours.toString(), step[1]}
                    : new String[]{"resize", ours.toString(), step[0]};
            String[] q = step.length == 2 ? new String[]{"resize", step[0], theirs.toString(), step[1]}
                    : new String[]{"resize", theirs.toString(), step[0]};
            Cli.jblk(j).expect(0);
            Cli.qemuImg(q).ok();
            Cli.qemuImg("check", ours.toString()).ok();
            Cli.qemuImg("compare", "-s", theirs.toString(), ours.toString()).ok();
        }
    }

    @Test
    void pictureDrawsSubclustersInsideClusters() throws Exception {
        Path image = overlay("p.qcow2", "cluster_size=128k,extended_l2=on", true);
        Cli.qemuIo("-c", "write -P 1 4k 4k", "-c", "write -z 128k 4k", image.toString()).ok();
        String text = Cli.jblk("map", "--picture", "-", image.toString()).expect(0).stdout();
        String first = text.lines().skip(1).findFirst().orElseThrow();
        assertTrue(first.trim().startsWith("0x0 .#" + ".".repeat(30) + "0" + ".".repeat(31)), first);
        Path svg = dir.resolve("p.svg");
        Cli.jblk("map", "--picture", svg.toString(), image.toString()).expect(0);
        String drawing = Files.readString(svg);
        assertTrue(drawing.contains("#d62728") && drawing.contains("#2ca02c") && drawing.contains("#bdbdbd"), "colours");
    }

    /** qemu-img snapshot -l and info's snapshots, ICOUNT included. */
    @Test
    @SuppressWarnings("unchecked")
    void snapshotListMatchesQemuImg() throws Exception {
        Path image = overlay("s.qcow2", "cluster_size=64k", true);
        Cli.qemuImg("snapshot", "-c", "first", image.toString()).ok();
        Cli.qemuIo("-c", "write -P 9 0 64k", image.toString()).ok();
        Cli.qemuImg("snapshot", "-c", "second_with_a_long_name", image.toString()).ok();
        String qemu = Cli.qemuImg("snapshot", "-l", image.toString()).ok().stdout();
        String jblk = Cli.jblk("snapshot", "-l", image.toString()).expect(0).stdout();
        assertEquals(qemu, jblk);
        assertEquals(4, jblk.lines().count(), jblk);
        Map<String, Object> q = (Map<String, Object>) Cli.parse(Cli.qemuImg("info", "--output=json", image.toString()).ok().stdout());
        Map<String, Object> j = (Map<String, Object>) Cli.parse(Cli.jblk("info", "--output=json", image.toString()).expect(0).stdout());
        Cli.assertSameFields(q, j, "info with snapshots", "io-engine");
        assertEquals(0, Cli.jblk("snapshot", "-l", dir.resolve("base.raw").toString()).expect(0).stdout().length());
    }

    @Test
    void infoHumanMatchesQemuImgLineForLine() throws Exception {
        Path image = overlay("h.qcow2", "cluster_size=128k,extended_l2=on,lazy_refcounts=on", true);
        scribble(image);
        String qemu = Cli.qemuImg("info", "--backing-chain", image.toString()).ok().stdout();
        String jblk = Cli.jblk("info", "--backing-chain", image.toString()).expect(0).stdout();
        assertEquals(qemu, jblk.lines().filter(l -> !l.startsWith("io engine: ")).reduce("", (a, b) -> a + b + "\n"));
    }

    private static String strip(String s) {
        return s.lines().map(l -> l.matches(".*, \\d+ ops; .*") ? "<timing>" : l).reduce("", (a, b) -> a + b + "\n");
    }
}
