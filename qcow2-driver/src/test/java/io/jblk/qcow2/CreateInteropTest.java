package io.jblk.qcow2;

import io.jblk.api.CreateOptions;
import io.jblk.api.InvalidOptionException;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

import static io.jblk.qcow2.Qcow2Images.qemuImgOk;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Images created by jblk open in QEMU 7.2: {@code qemu-img check} is clean, {@code qemu-img info} shows every
 * requested option, the file is byte-identical to what {@code qemu-img create} writes for the same options, and
 * invalid combinations are refused by both with the same meaning.
 */
class CreateInteropTest {
    private static final long SIZE = 8L << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        ExternalTool.assumeAvailable("qemu-img");
    }

    /** Option string as for {@code qemu-img create -o}; "DIR" stands for the test directory. */
    static Stream<String> optionSets() {
        return Stream.of(
                "",
                "cluster_size=512", "cluster_size=4096", "cluster_size=16384", "cluster_size=2097152",
                "extended_l2=on", "extended_l2=on,cluster_size=16384", "extended_l2=on,cluster_size=131072",
                "extended_l2=on,cluster_size=2097152",
                "compat=0.10", "compat=0.10,cluster_size=4096",
                "refcount_bits=1", "refcount_bits=2", "refcount_bits=8", "refcount_bits=32", "refcount_bits=64",
                "refcount_bits=64,extended_l2=on",
                "lazy_refcounts=on", "lazy_refcounts=on,extended_l2=on",
                "compression_type=zstd", "compression_type=zstd,extended_l2=on",
                "backing_file=base.raw,backing_fmt=raw",
                "backing_file=base.raw,backing_fmt=raw,extended_l2=on",
                "backing_file=mid.qcow2,backing_fmt=qcow2",
                "data_file=DIR/img.data", "data_file=DIR/img.data,data_file_raw=on",
                "data_file=DIR/img.data,extended_l2=on",
                "data_file=DIR/img.data,data_file_raw=on,extended_l2=on",
                "preallocation=metadata", "preallocation=metadata,extended_l2=on",
                "preallocation=metadata,cluster_size=4096",
                "preallocation=falloc", "preallocation=full", "preallocation=full,extended_l2=on",
                "preallocation=metadata,extended_l2=on,backing_file=base.raw,backing_fmt=raw");
    }

    Map<String, String> parse(String options, String suffix) {
        Map<String, String> out = new LinkedHashMap<>();
        if (!options.isEmpty()) {
            for (String kv : options.split(",")) {
                String[] p = kv.split("=", 2);
                out.put(p[0], p[1].replace("DIR", dir.toString()).replace("img.data", "img" + suffix + ".data"));
            }
        }
        return out;
    }

    static String join(Map<String, String> options) {
        StringBuilder b = new StringBuilder();
        options.forEach((k, v) -> b.append(b.isEmpty() ? "" : ",").append(k).append('=').append(v));
        return b.toString();
    }

    void backingFiles() throws Exception {
        Files.write(dir.resolve("base.raw"), Qcow2Images.pattern((int) SIZE, 0x3c));
        if (!Files.exists(dir.resolve("mid.qcow2"))) {
            qemuImgOk("create", "-q", "-f", "qcow2", "-F", "raw", "-b", "base.raw", dir.resolve("mid.qcow2").toString(),
                    Long.toString(SIZE));
        }
    }

    Path createWithJblk(String options) throws Exception {
        backingFiles();
        Path img = dir.resolve("j.qcow2");
        new Qcow2Driver().create(img, CreateOptions.builder(SIZE).options(parse(options, "-j")).build());
        return img;
    }

    Path createWithQemu(String options) throws Exception {
        backingFiles();
        Path img = dir.resolve("q.qcow2");
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2"));
        String o = join(parse(options, "-q"));
        if (!o.isEmpty()) {
            args.addAll(List.of("-o", o));
        }
        args.addAll(List.of(img.toString(), Long.toString(SIZE)));
        qemuImgOk(args.toArray(String[]::new));
        return img;
    }

    @ParameterizedTest(name = "-o {0}")
    @MethodSource("optionSets")
    void jblkCreatedImagePassesCheckAndInfoShowsOptions(String options) throws Exception {
        Path img = createWithJblk(options);
        Qcow2Images.assertQemuCheckClean(img);
        Map<String, Object> info = Qcow2Images.qemuInfo(img);
        @SuppressWarnings("unchecked")
        Map<String, Object> specific = (Map<String, Object>) ((Map<String, Object>) info.get("format-specific"))
                .get("data");
        Map<String, String> o = parse(options, "-j");
        String where = "qemu-img info of a jblk image created with -o " + options + ": " + info;
        assertEquals("qcow2", info.get("format"), where);
        assertEquals(SIZE, info.get("virtual-size"), where);
        assertEquals(Long.parseLong(o.getOrDefault("cluster_size", "65536")), info.get("cluster-size"), where);
        assertEquals(o.getOrDefault("compat", "1.1"), specific.get("compat"), where);
        assertEquals(Long.parseLong(o.getOrDefault("refcount_bits", "16")), specific.get("refcount-bits"), where);
        if (!"0.10".equals(o.get("compat"))) {
            assertEquals("on".equals(o.get("extended_l2")), specific.get("extended-l2"), where);
            assertEquals("on".equals(o.get("lazy_refcounts")), specific.get("lazy-refcounts"), where);
            assertEquals(o.getOrDefault("compression_type", "zlib"), specific.get("compression-type"), where);
        }
        if (!"0.10".equals(o.get("compat"))) {
            assertEquals(false, specific.get("corrupt"), where);   // v2 has no corrupt bit
        }
        assertEquals(o.get("backing_file"), info.get("backing-filename"), where);
        assertEquals(o.get("backing_fmt"), info.get("backing-filename-format"), where);
        assertEquals(o.get("data_file"), specific.get("data-file"), where);
        assertEquals(o.containsKey("data_file") ? "on".equals(o.get("data_file_raw")) : null,
                specific.get("data-file-raw"), where);
        // QEMU reads it back as created: all zeros (or the backing file's content).
        Qcow2Images.assertContentLikeQemu(img, dir);
    }

    /**
     * The option sets whose layout jblk reproduces. Left out: falloc/full preallocation (QEMU preallocates through
     * its resize path, which moves the refcount table behind the data) and metadata preallocation that needs a
     * second refcount block (QEMU places it after the chunk of data clusters it was allocating at the time).
     */
    static Stream<String> byteComparable() {
        return optionSets().filter(o -> !o.contains("preallocation=falloc") && !o.contains("preallocation=full")
                && !o.equals("preallocation=metadata,cluster_size=4096"));
    }

    @ParameterizedTest(name = "-o {0}")
    @MethodSource("byteComparable")
    void jblkCreatedImageIsByteIdenticalToQemuImgCreate(String options) throws Exception {
        byte[] created = Files.readAllBytes(createWithJblk(options));
        byte[] qemu = Files.readAllBytes(createWithQemu(options));
        Map<String, String> o = parse(options, "");
        if (o.containsKey("data_file")) {
            // The header extension holds the data file's name, which differs between the two images by design.
            created = new String(created, java.nio.charset.StandardCharsets.ISO_8859_1).replace("img-j.data", "img-q.data")
                    .getBytes(java.nio.charset.StandardCharsets.ISO_8859_1);
        }
        // Exactly the same bytes and the same length: jblk writes only the L1 table's own bytes, as QEMU does.
        int at = Arrays.mismatch(qemu, created);
        byte[] jblk = created;
        assertEquals(-1, at, () -> "jblk's image differs from qemu-img create's (" + qemu.length + " / "
                + jblk.length + " bytes) first at 0x" + Integer.toHexString(at) + ": QEMU "
                + hex(qemu, at) + " jblk " + hex(jblk, at));
    }

    /**
     * Sizes whose L1 table, or the refcount structures counting it, fill at least one whole refcount block (the
     * first three from the issue: {@code create -o cluster_size=512 511M} never returned and filled the disk, the
     * allocator chasing its own tail), one whose refcount table must grow while the L1 table is allocated, one with
     * 64-bit refcounts where that happens several times, and size 0 (no L1 table at all). Each finishes and is
     * byte-identical to qemu-img create's.
     */
    @ParameterizedTest(name = "-o {0}, {1} bytes")
    @CsvSource(delimiter = ';', value = {"cluster_size=512;535822336", "cluster_size=1024;8589934592",
            "cluster_size=4096;2199023255552", "cluster_size=512;34359738368",
            "cluster_size=512,refcount_bits=64;8589934592", "cluster_size=512;0"})
    void metadataFillingRefcountBlocksIsCreatedAsQemuDoes(String options, long size) throws Exception {
        Path j = dir.resolve("j.qcow2");
        // The largest of these files is about 8 MiB; a runaway allocator stops at the cap instead of filling the disk.
        assertTimeoutPreemptively(java.time.Duration.ofSeconds(120), () -> new Qcow2Driver().create(j,
                CreateOptions.builder(size).options(parse(options, "-j")).build(), new FileSizeCap(64L << 20)));
        Path q = dir.resolve("q.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", options, q.toString(), Long.toString(size));
        Qcow2Images.assertQemuCheckClean(j);
        byte[] created = Files.readAllBytes(j);
        byte[] qemu = Files.readAllBytes(q);
        int at = Arrays.mismatch(qemu, created);
        assertEquals(-1, at, () -> "jblk's image differs from qemu-img create's (" + qemu.length + " / "
                + created.length + " bytes) first at 0x" + Integer.toHexString(at) + ": QEMU " + hex(qemu, at)
                + " jblk " + hex(created, at));
    }

    int clusterSize(String options) {
        return Integer.parseInt(parse(options, "").getOrDefault("cluster_size", "65536"));
    }

    static String hex(byte[] b, int at) {
        StringBuilder s = new StringBuilder();
        for (int i = at & ~7; i < Math.min(b.length, (at & ~7) + 16); i++) {
            s.append(String.format("%02x", b[i]));
        }
        return s.length() == 0 ? "(end of file)" : s.toString();
    }

    /** An invalid combination: both refuse it, and both messages contain all the key words. */
    static Stream<Arguments> invalid() {
        return Stream.of(
                Arguments.of("extended_l2=on,cluster_size=8k",
                        "extended l2 entries are only supported with cluster sizes of at least 16384 bytes"),
                Arguments.of("extended_l2=on,compat=0.10",
                        "extended l2 entries are only supported with compatibility level 1.1 and above"),
                Arguments.of("cluster_size=3000", "cluster size must be a power of two between 512 and 2048k"),
                Arguments.of("cluster_size=256", "cluster size must be a power of two between 512 and 2048k"),
                Arguments.of("cluster_size=4M", "cluster size must be a power of two between 512 and 2048k"),
                Arguments.of("lazy_refcounts=on,compat=0.10",
                        "lazy refcounts only supported with compatibility level 1.1 and above"),
                Arguments.of("refcount_bits=3", "refcount width must be a power of two and may not exceed 64 bits"),
                Arguments.of("refcount_bits=128", "refcount width must be a power of two and may not exceed 64 bits"),
                Arguments.of("refcount_bits=8,compat=0.10",
                        "different refcount widths than 16 bits require compatibility level 1.1 or above"),
                Arguments.of("data_file=DIR/x.data,compat=0.10",
                        "external data files are only supported with compatibility level 1.1 and above"),
                Arguments.of("data_file_raw=on", "data_file_raw requires data_file"),
                Arguments.of("compression_type=zstd,compat=0.10",
                        "non_zlib compression type is only supported with compatibility level 1.1 and above"),
                Arguments.of("compression_type=lz4", "compression_type|lz4"),
                Arguments.of("compat=0.9", "0.9"),
                Arguments.of("preallocation=bogus", "preallocation|bogus"),
                Arguments.of("extended_l2=maybe", "extended_l2|expects 'on' or 'off'"),
                Arguments.of("data_file=DIR/x.data,data_file_raw=on,backing_file=base.raw,backing_fmt=raw",
                        "backing file and data_file_raw cannot be used at the same time"),
                Arguments.of("preallocation=metadata,backing_file=base.raw,backing_fmt=raw",
                        "backing file and preallocation can only be used at the same time if extended_l2 is on"));
    }

    static String normalized(String message) {
        return message.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    @ParameterizedTest(name = "-o {0}")
    @MethodSource("invalid")
    void invalidCombinationsRefusedLikeQemuImg(String options, String keyWords) throws Exception {
        backingFiles();
        Path q = dir.resolve("q.qcow2");
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2", "-o", join(parse(options, "")),
                q.toString(), "1M"));
        ExternalTool.Result r = ExternalTool.qemuImg(args.toArray(String[]::new));
        assertNotEquals(0, r.exitCode(), "qemu-img accepted -o " + options);
        InvalidOptionException e = assertThrows(InvalidOptionException.class, () -> new Qcow2Driver().create(
                dir.resolve("j.qcow2"), CreateOptions.builder(1 << 20).options(parse(options, "")).build()));
        for (String word : keyWords.split("\\|")) {
            assertTrue(normalized(r.stderr()).contains(word), "QEMU said: " + r.stderr());
            assertTrue(normalized(e.getMessage()).contains(word), "jblk said: " + e.getMessage()
                    + "\nQEMU said: " + r.stderr());
        }
        assertTrue(Files.notExists(dir.resolve("j.qcow2")), "jblk left a file behind after refusing");
    }

    @Test
    void sizeNotAMultipleOf512IsRefused() {
        // qemu-img create rounds the size up before the qcow2 driver sees it; QEMU's qcow2 create itself
        // (blockdev-create) refuses with this message, and so does jblk.
        InvalidOptionException e = assertThrows(InvalidOptionException.class, () -> new Qcow2Driver().create(
                dir.resolve("j.qcow2"), CreateOptions.builder(1000).build()));
        assertTrue(e.getMessage().contains("Image size must be a multiple of 512 bytes"), e.getMessage());
    }

    @ParameterizedTest(name = "preallocation={0}")
    @ValueSource(strings = {"metadata", "falloc", "full"})
    void preallocatedImagesMapLikeQemuAndStayUnallocatedUntilWritten(String mode) throws Exception {
        for (String ext : new String[] {"off", "on"}) {
            String options = "preallocation=" + mode + ",extended_l2=" + ext;
            Path j = createWithJblk(options);
            Path q = createWithQemu(options);
            assertEquals(Qcow2Images.describe(Qcow2Images.qemuMap(q)), Qcow2Images.describe(Qcow2Images.qemuMap(j)),
                    "qemu-img map of the " + options + " images (QEMU's, jblk's)");
            Qcow2Images.assertMapLikeQemu(j);
            assertEquals(Qcow2Images.qemuCheckNumbers(q), Qcow2Images.qemuCheckNumbers(j), "qemu-img check");
            if (ext.equals("on")) {
                long[] e = Qcow2Images.l2Entry(j, SIZE - 65536);
                assertNotEquals(0, e[0] & io.jblk.qcow2.format.L2Entry.OFFSET_MASK, "preallocated: linked");
                assertEquals(0, e[1], "preallocated: no subcluster allocated");
            }
            Files.delete(j);
            Files.delete(q);
        }
    }

    /*
     * QEMU 7.2 asks the host file (SEEK_DATA/SEEK_HOLE) about NORMAL clusters only when it has detected metadata
     * preallocation (clusters with a refcount >= 10/9 of the clusters the host file has allocated); then host holes
     * map as zero=true data=true. Falloc'ed clusters are allocated on the host, so they map zero=false.
     */
    @Test
    void metadataPreallocatedClustersAreHostHolesAndMapAsZeroLikeQemu() throws Exception {
        Path j = createWithJblk("preallocation=metadata");
        Qcow2Images.assertMapLikeQemu(j);
        try (Qcow2Device d = Qcow2Images.open(j)) {
            Qcow2Images.write(d, 65536 + 4096, Qcow2Images.pattern(4096, 0x77));
        }
        Qcow2Images.assertMapLikeQemu(j);   // one cluster now part data, part hole
    }
}
