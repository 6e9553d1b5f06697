package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static io.jblk.qcow2.Qcow2Images.assertReadsLikeQemu;
import static io.jblk.qcow2.Qcow2Images.qemuImgOk;
import static io.jblk.qcow2.Qcow2Images.qemuIo;

/**
 * Images created and written by QEMU 7.2's own tools read identically by jblk: every guest byte equals
 * {@code qemu-img convert -O raw}, and {@code blockStatus} equals {@code qemu-img map --output=json}.
 */
class QemuWrittenImagesTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
    }

    /** Cluster size x extended L2, where QEMU allows the combination (extended L2 needs 16 KiB clusters). */
    static Stream<Arguments> layouts() {
        List<Arguments> out = new ArrayList<>();
        for (int cs : new int[] {512, 4096, 16384, 65536, 131072, 2 << 20}) {
            out.add(Arguments.of(cs, false));
            if (cs >= 16384) {
                out.add(Arguments.of(cs, true));
            }
        }
        return out.stream();
    }

    static long imageSize(int cs) {
        return Math.max(2L << 20, 12L * cs);
    }

    static String opts(int cs, boolean ext, String more) {
        return "cluster_size=" + cs + ",extended_l2=" + (ext ? "on" : "off") + (more.isEmpty() ? "" : "," + more);
    }

    /**
     * qemu-io commands touching whole clusters, whole subclusters, partial subclusters and cluster-crossing ranges
     * with data, {@code write -z}, {@code write -z -u} and {@code discard}. {@code sc} is the allocation unit.
     */
    static String[] workload(int cs, boolean ext) {
        long c = cs;
        long sc = ext ? cs / 32 : cs;
        return new String[] {
                "write -q -P 0x11 0 " + c,
                "write -q -P 0x22 " + (c + sc) + " 512",
                "write -q -P 0x33 " + (2 * c + 3 * sc) + " " + (2 * sc),
                "write -q -z " + 3 * c + " " + c,
                "write -q -P 0x44 " + 4 * c + " " + 2 * c,
                "write -q -z -u " + 4 * c + " " + c,
                "write -q -z " + (5 * c + sc) + " " + sc,
                "write -q -P 0x55 " + 6 * c + " " + 2 * c,
                "discard -q " + 6 * c + " " + c,
                "discard -q " + (7 * c + sc) + " " + sc,
                "write -q -z " + (8 * c + 512) + " 1024",
                "write -q -P 0x66 " + (9 * c - 1024) + " 2048",
                "write -q -z -u " + (10 * c) + " " + (c + sc),
                "write -q -P 0x77 " + (11 * c + 1536) + " 512",
        };
    }

    Path create(String name, String options, long size) throws Exception {
        Path img = dir.resolve(name);
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", options, img.toString(), Long.toString(size));
        return img;
    }

    @ParameterizedTest(name = "cluster_size={0} extended_l2={1}")
    @MethodSource("layouts")
    void patternsZeroesAndDiscards(int cs, boolean ext) throws Exception {
        Path img = create("a.qcow2", opts(cs, ext, ""), imageSize(cs));
        qemuIo(img, workload(cs, ext));
        assertReadsLikeQemu(img, dir);
    }

    /** Chains over a subset of the layouts (the per-layout read path is covered above; this is about depth). */
    static Stream<Arguments> chainLayouts() {
        return Stream.of(Arguments.of(512, false), Arguments.of(65536, false), Arguments.of(16384, true),
                Arguments.of(65536, true), Arguments.of(2 << 20, true));
    }

    @ParameterizedTest(name = "cluster_size={0} extended_l2={1}")
    @MethodSource("chainLayouts")
    void backingChainRawUnderTwoQcow2(int cs, boolean ext) throws Exception {
        long size = imageSize(cs);
        Path base = dir.resolve("base.raw");
        byte[] b = new byte[(int) (size * 3 / 4)];   // shorter than the overlays: the tail reads as zeros
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (0x80 | (i >>> 9));
        }
        Files.write(base, b);
        Path mid = dir.resolve("mid.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", opts(cs, ext, ""), "-F", "raw", "-b", "base.raw",
                mid.toString(), Long.toString(size));
        long sc = ext ? cs / 32 : cs;
        qemuIo(mid, "write -q -P 0x21 " + sc + " " + (2 * sc),
                "write -q -P 0x22 " + (2L * cs + 512) + " 512",
                "write -q -z " + 4L * cs + " " + cs,
                "discard -q " + 5L * cs + " " + cs,
                "write -q -z " + (6L * cs + sc) + " " + sc);
        Path top = dir.resolve("top.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", opts(cs, ext, ""), "-F", "qcow2", "-b", "mid.qcow2",
                top.toString(), Long.toString(size));
        qemuIo(top, "write -q -P 0x31 " + (2L * cs) + " " + sc,
                "write -q -P 0x32 " + (3L * cs + 1024) + " 1024",
                "write -q -z " + (5L * cs) + " " + sc,
                "discard -q " + (4L * cs) + " " + cs,
                "write -q -P 0x33 " + (size - 2048) + " 2048");
        assertReadsLikeQemu(mid, dir);
        assertReadsLikeQemu(top, dir);
    }

    @Test
    void mapPastTheEndOfAShorterBackingFileIsAnsweredByTheOverlay() throws Exception {
        Files.write(dir.resolve("short.raw"), Qcow2Images.pattern(256 << 10, 0x5a));
        Path mid = dir.resolve("mid.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "short.raw", mid.toString(), "1M");
        Path top = dir.resolve("top.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "mid.qcow2", top.toString(), "1M");
        List<io.jblk.api.Extent> expectMid = List.of(
                new io.jblk.api.Extent(0, 256 << 10, true, false, true, 1, 0, false),
                new io.jblk.api.Extent(256 << 10, 768 << 10, false, true, false, 0, -1, false));
        org.junit.jupiter.api.Assertions.assertEquals(Qcow2Images.describe(expectMid),
                Qcow2Images.describe(Qcow2Images.qemuMap(mid)), "QEMU's own answer");
        Qcow2Images.assertMapLikeQemu(mid);
        Qcow2Images.assertMapLikeQemu(top);
    }

    /**
     * Block status costs what the image holds, not its virtual size: a 4 PiB image with 2 MiB clusters (2^31
     * clusters, 8,192 L1 entries) holding data in its first and last sectors, and an empty overlay over it. jblk used
     * to look at every cluster of a range without an L2 table (about a minute per PiB; qemu-img map: 2 s in all).
     */
    @Test
    void blockStatusOfASparseHugeImageCostsWhatItHolds() throws Exception {
        long size = 1L << 52;
        Path base = dir.resolve("base.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", base.toString(), Long.toString(size));
        qemuIo(base, "write -q -P 1 0 512", "write -q -P 2 " + (size - 512) + " 512");
        Path top = dir.resolve("top.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", "-F", "qcow2", "-b", "base.qcow2",
                top.toString(), Long.toString(size));
        for (Path image : List.of(base, top)) {
            List<io.jblk.api.Extent> jblk = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    java.time.Duration.ofSeconds(60), () -> {
                        try (Qcow2Device d = Qcow2Images.openReadOnly(image)) {
                            return Qcow2Images.jblkMap(d);
                        }
                    }, "block status of " + image.getFileName());
            org.junit.jupiter.api.Assertions.assertEquals(Qcow2Images.describe(Qcow2Images.qemuMap(image)),
                    Qcow2Images.describe(jblk), "block status of " + image.getFileName()
                            + " (expected = qemu-img map, actual = jblk)");
        }
    }

    static Stream<Arguments> compressed() {
        return Stream.of(Arguments.of(4096, false, "zlib"), Arguments.of(65536, false, "zlib"),
                Arguments.of(65536, true, "zlib"), Arguments.of(65536, false, "zstd"),
                Arguments.of(65536, true, "zstd"), Arguments.of(2 << 20, true, "zstd"),
                Arguments.of(2 << 20, false, "zlib"));
    }

    @ParameterizedTest(name = "cluster_size={0} extended_l2={1} compression_type={2}")
    @MethodSource("compressed")
    void compressedByQemuImgConvert(int cs, boolean ext, String type) throws Exception {
        long size = imageSize(cs);
        Path src = create("src.qcow2", opts(cs, false, ""), size);
        // Compressible text, an incompressible random run, zeros, and a partial last cluster of data.
        qemuIo(src, "write -q -P 0x41 0 " + (3L * cs),
                "write -q -P 0x00 " + (5L * cs) + " " + cs,
                "write -q -P 0x5a " + (7L * cs + 512) + " 1024");
        byte[] random = new byte[2 * cs];
        new java.util.Random(cs).nextBytes(random);
        Path rnd = dir.resolve("rnd.raw");
        Files.write(rnd, random);
        try (Qcow2Device d = Qcow2Images.open(src)) {
            Qcow2Images.write(d, 3L * cs, random);
        }
        Path img = dir.resolve("c.qcow2");
        qemuImgOk("convert", "-c", "-O", "qcow2", "-o", opts(cs, ext, "compression_type=" + type),
                src.toString(), img.toString());
        assertReadsLikeQemu(img, dir);
        // Overwrite part of a compressed cluster with QEMU: it becomes a normal cluster (whole-cluster COW).
        qemuIo(img, "write -q -P 0x99 " + (cs + 512) + " 512");
        assertReadsLikeQemu(img, dir);
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(booleans = {false, true})
    void internalSnapshots(boolean ext) throws Exception {
        int cs = 65536;
        Path img = create("s.qcow2", opts(cs, ext, ""), 4L << 20);
        qemuIo(img, "write -q -P 0x11 0 192k", "write -q -P 0x12 300k 4k");
        qemuImgOk("snapshot", "-c", "s1", img.toString());
        qemuIo(img, "write -q -P 0x21 4k 4k", "write -q -z 64k 64k", "discard -q 128k 64k",
                "write -q -P 0x22 1m 8k");
        qemuImgOk("snapshot", "-c", "s2", img.toString());
        qemuIo(img, "write -q -P 0x31 0 512", "write -q -z -u 1m 64k");
        assertReadsLikeQemu(img, dir);
        try (Qcow2Device d = Qcow2Images.openReadOnly(img)) {
            org.junit.jupiter.api.Assertions.assertEquals(List.of("s1", "s2"),
                    d.snapshots().stream().map(s -> s.name()).toList());
        }
    }

    @Test
    void compat010() throws Exception {
        int cs = 65536;
        Path img = create("v2.qcow2", "compat=0.10", 2L << 20);
        qemuIo(img, workload(cs, false));
        assertReadsLikeQemu(img, dir);
        // v2 with a backing file: zero writes become real zeros, discard is refused silently by QEMU.
        Files.write(dir.resolve("b.raw"), Qcow2Images.pattern(1 << 20, 0xee));
        Path ov = dir.resolve("v2ov.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", "compat=0.10", "-F", "raw", "-b", "b.raw", ov.toString(),
                "2M");
        qemuIo(ov, "write -q -P 1 4k 4k", "write -q -z 64k 64k", "write -q -z 130k 1k", "discard -q 0 64k");
        assertReadsLikeQemu(ov, dir);
    }

    @ParameterizedTest(name = "refcount_bits={0} extended_l2={1}")
    @MethodSource("refcountWidths")
    void refcountWidths(int bits, boolean ext) throws Exception {
        int cs = 65536;
        Path img = create("r.qcow2", opts(cs, ext, "refcount_bits=" + bits), imageSize(cs));
        qemuIo(img, workload(cs, ext));
        if (bits > 1) {
            qemuImgOk("snapshot", "-c", "s1", img.toString());
            qemuIo(img, "write -q -P 0x88 0 4k");
        }
        assertReadsLikeQemu(img, dir);
    }

    static Stream<Arguments> refcountWidths() {
        return Stream.of(Arguments.of(1, false), Arguments.of(1, true), Arguments.of(64, false),
                Arguments.of(64, true));
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(booleans = {false, true})
    void lazyRefcountsLeftDirtyByAbort(boolean ext) throws Exception {
        Path img = create("l.qcow2", opts(65536, ext, "lazy_refcounts=on"), 2L << 20);
        // qemu-io's "abort" kills it with SIGABRT (exit 134), leaving unflushed refcounts behind a dirty bit.
        ExternalTool.Result r = ExternalTool.run("qemu-io", "-f", "qcow2", "-c", "write -q -P 7 0 4k",
                "-c", "write -q -P 8 200k 70k", "-c", "write -q -z 64k 4k", "-c", "abort", img.toString());
        org.junit.jupiter.api.Assertions.assertNotEquals(0, r.exitCode(), r.stderr());
        String info = qemuImgOk("info", "--output=json", img.toString()).stdout();
        org.junit.jupiter.api.Assertions.assertTrue(info.contains("\"dirty-flag\": true"), info);
        assertReadsLikeQemu(img, dir);
        // Opened for writing, jblk rebuilds the refcounts QEMU never wrote; afterwards the image is clean and
        // no longer dirty, and holds QEMU's data plus jblk's write.
        byte[] expected = Qcow2Images.qemuContent(img, dir);
        try (Qcow2Device d = Qcow2Images.open(img)) {
            Qcow2Images.write(d, 1 << 20, Qcow2Images.pattern(8192, 0x99));
        }
        System.arraycopy(Qcow2Images.pattern(8192, 0x99), 0, expected, 1 << 20, 8192);
        Qcow2Images.assertQemuCheckClean(img);
        String after = qemuImgOk("info", "--output=json", img.toString()).stdout();
        org.junit.jupiter.api.Assertions.assertTrue(after.contains("\"dirty-flag\": false"), after);
        Qcow2Images.assertSameAsRaw(img, expected, dir);
    }

    @ParameterizedTest(name = "extended_l2={0} data_file_raw={1}")
    @MethodSource("dataFiles")
    void externalDataFile(boolean ext, boolean raw) throws Exception {
        int cs = 65536;
        Path data = dir.resolve("d.data").toAbsolutePath();
        Path img = create("d.qcow2", opts(cs, ext, "data_file=" + data + ",data_file_raw=" + (raw ? "on" : "off")),
                imageSize(cs));
        qemuIo(img, workload(cs, ext));
        assertReadsLikeQemu(img, dir);
    }

    static Stream<Arguments> dataFiles() {
        return Stream.of(Arguments.of(false, false), Arguments.of(false, true), Arguments.of(true, false),
                Arguments.of(true, true));
    }
}
