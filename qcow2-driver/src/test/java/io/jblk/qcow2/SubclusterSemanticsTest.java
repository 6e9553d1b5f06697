package io.jblk.qcow2;

import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.format.L2Entry;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static io.jblk.qcow2.Qcow2Images.qemuImgOk;
import static io.jblk.qcow2.Qcow2Images.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Subcluster allocation, write-zeroes and discard pinned by direct L2 inspection. Each request sequence runs twice
 * on identically created images, once through QEMU 7.2's qemu-io and once through jblk; the L2 entries (word and
 * bitmap, host offsets included) must be equal, and both images must hold the same data and pass qemu-img check.
 */
class SubclusterSemanticsTest {
    private static final int CS = 65536;
    private static final int SC = CS / 32;
    private static final long SIZE = 1 << 20;

    @TempDir
    Path dir;

    @BeforeAll
    static void tools() {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
    }

    /** One guest request, expressible both as a qemu-io command and as a jblk call. */
    record Op(String kind, long offset, long length, int pattern) {
        String qemuIo() {
            return switch (kind) {
                case "write" -> "write -q -P " + pattern + " " + offset + " " + length;
                case "zero" -> "write -q -z " + offset + " " + length;
                case "zero-unmap" -> "write -q -z -u " + offset + " " + length;
                case "discard" -> "discard -q " + offset + " " + length;
                case "compress" -> "write -q -c -P " + pattern + " " + offset + " " + length;
                default -> throw new IllegalArgumentException(kind);
            };
        }

        void jblk(Qcow2Device d) throws Exception {
            switch (kind) {
                case "write" -> Qcow2Images.write(d, offset, Qcow2Images.pattern((int) length, pattern));
                case "zero" -> d.writeZeroes(offset, length, false).get();
                case "zero-unmap" -> d.writeZeroes(offset, length, true).get();
                case "discard" -> d.discard(offset, length).get();
                default -> throw new IllegalArgumentException("jblk has no " + kind);
            }
        }
    }

    static Op write(long off, long len, int p) {
        return new Op("write", off, len, p);
    }

    static Op zero(long off, long len) {
        return new Op("zero", off, len, 0);
    }

    static Op zeroUnmap(long off, long len) {
        return new Op("zero-unmap", off, len, 0);
    }

    static Op discard(long off, long len) {
        return new Op("discard", off, len, 0);
    }

    static Op compress(long off, int p) {
        return new Op("compress", off, CS, p);
    }

    /** The same image twice: {@code qemu} written by qemu-io, {@code jblk} written by jblk. */
    record Pair(Path qemu, Path jblk) {
    }

    private int seq;

    Path backing() throws Exception {
        Path base = dir.resolve("base.raw");
        if (!Files.exists(base)) {
            Files.write(base, Qcow2Images.pattern((int) SIZE, 0xff));
        }
        return base;
    }

    Path create(String name, String options, boolean withBacking, long size) throws Exception {
        Path img = dir.resolve(name);
        // "DATA" stands for an external data file of this image's own (absolute: QEMU 7.2 resolves relative
        // data file names against its working directory).
        String o = options.replace("DATA", dir.resolve(name + ".data").toString());
        List<String> args = new ArrayList<>(List.of("create", "-q", "-f", "qcow2", "-o", o));
        if (withBacking) {
            backing();
            args.addAll(List.of("-F", "raw", "-b", "base.raw"));
        }
        args.add(img.toString());
        args.add(Long.toString(size));
        qemuImgOk(args.toArray(String[]::new));
        return img;
    }

    static Qcow2Device openJblk(Path img, String discardGranularity) throws Exception {
        OpenOptions.Builder b = OpenOptions.builder();
        if (discardGranularity != null) {
            b.formatOption("discard-granularity", discardGranularity);
        }
        return new Qcow2Driver().open(img, b.build(), HostFileOpener.DEFAULT);
    }

    /**
     * Runs {@code setup} with qemu-io on both images, then {@code ops} with qemu-io on one and jblk on the other.
     */
    Pair run(String options, boolean withBacking, long size, List<Op> setup, List<Op> ops,
             String discardGranularity) throws Exception {
        int n = seq++;
        Pair p = new Pair(create("q" + n + ".qcow2", options, withBacking, size),
                create("j" + n + ".qcow2", options, withBacking, size));
        if (!setup.isEmpty()) {
            String[] cmds = setup.stream().map(Op::qemuIo).toArray(String[]::new);
            qemuIo(p.qemu(), cmds);
            qemuIo(p.jblk(), cmds);
        }
        if (!ops.isEmpty()) {
            qemuIo(p.qemu(), ops.stream().map(Op::qemuIo).toArray(String[]::new));
            try (Qcow2Device d = openJblk(p.jblk(), discardGranularity)) {
                for (Op op : ops) {
                    op.jblk(d);
                }
            }
        }
        return p;
    }

    /** Both images hold the same data, pass qemu-img check, and have the same L2 entry for every cluster. */
    void assertSameAsQemu(Pair p, long size) throws Exception {
        Qcow2Images.assertQemuCheckClean(p.qemu());
        Qcow2Images.assertQemuCheckClean(p.jblk());
        ExternalTool.Result cmp = ExternalTool.qemuImg("compare", p.qemu().toString(), p.jblk().toString());
        assertEquals(0, cmp.exitCode(), () -> "qemu-img compare:\n" + cmp.stdout() + cmp.stderr());
        assertEquals(entries(p.qemu(), size), entries(p.jblk(), size),
                "L2 entries (expected = QEMU's, actual = jblk's)");
    }

    static String entries(Path img, long size) throws Exception {
        return entries(img, size, true);
    }

    /** Every non-empty L2 entry; without {@code hostOffsets}, a host offset shows only as "allocated". */
    static String entries(Path img, long size, boolean hostOffsets) throws Exception {
        StringBuilder b = new StringBuilder();
        int cs;
        try (var in = Files.newInputStream(img)) {
            cs = 1 << java.nio.ByteBuffer.wrap(in.readNBytes(24)).getInt(20);
        }
        for (long off = 0; off < size; off += cs) {
            long[] e = Qcow2Images.l2Entry(img, off);
            if (e[0] != 0 || e[1] != 0) {
                long word = e[0];
                if (!hostOffsets && (word & L2Entry.COMPRESSED) == 0 && (word & L2Entry.OFFSET_MASK) != 0) {
                    word = (word & ~L2Entry.OFFSET_MASK) | 0x00aa_aaaa_aaaa_0000L;
                }
                b.append(String.format("cluster %2d: %016x %016x%n", off / cs, word, e[1]));
            }
        }
        return b.toString();
    }

    static String entry(Path img, long guest) throws Exception {
        long[] e = Qcow2Images.l2Entry(img, guest);
        return String.format("%016x %016x", e[0], e[1]);
    }

    // ---- allocation ----

    @Test
    void notesSequenceOverFullBackingFile() throws Exception {
        Pair p = run("extended_l2=on", true, SIZE, List.of(), List.of(write(3072, 512, 0x11), zero(8192, 4096),
                zero(13312, 1024), write(64512, 4096, 0x22)), null);
        // Literally what QEMU 7.2 wrote in the notes (§5): a=1,6,31 z=4,5; then a=0,1 in the next cluster.
        assertEquals("8000000000050000 0000003080000042", entry(p.jblk(), 0));
        assertEquals("8000000000060000 0000000000000003", entry(p.jblk(), CS));
        assertSameAsQemu(p, SIZE);
        try (Qcow2Device d = Qcow2Images.openReadOnly(p.jblk())) {
            assertEquals(0xff, Qcow2Images.read(d, 12288, 1024)[0] & 0xff);
            assertEquals(0, Qcow2Images.read(d, 13312, 1024)[1023]);
        }
    }

    @ParameterizedTest(name = "backing={0}")
    @ValueSource(booleans = {false, true})
    void fourKibWriteIntoEmptyExtendedClusterAllocatesOnlyItsSubclusters(boolean withBacking) throws Exception {
        Pair p = run("extended_l2=on", withBacking, SIZE, List.of(write(5L * CS, 512, 0x01)), List.of(), null);
        Path img = p.jblk();
        long endBefore = Qcow2Images.qemuCheckNumbers(img).get("image-end-offset");
        long allocatedBefore = Qcow2Images.qemuCheckNumbers(img).get("allocated-clusters");
        long backingRead;
        try (Qcow2Device d = Qcow2Images.open(img)) {
            long read0 = d.backingBytesRead();
            // [1k, 5k): subcluster 0 from 1k, subcluster 1 whole, subcluster 2 up to 5k.
            Qcow2Images.write(d, 1024, Qcow2Images.pattern(4096, 0x42));
            backingRead = d.backingBytesRead() - read0;
        }
        java.util.Map<String, Long> after = Qcow2Images.qemuCheckNumbers(img);
        assertEquals(CS, after.get("image-end-offset") - endBefore, "the image grew by exactly one cluster");
        assertEquals(1, after.get("allocated-clusters") - allocatedBefore, "one more guest cluster allocated");
        long[] e = Qcow2Images.l2Entry(img, 0);
        assertEquals(0x7L, e[1], "bitmap");
        // Only the missing head of subcluster 0 and tail of subcluster 2 were read (none without backing).
        assertEquals(withBacking ? 1024 + 1024 : 0, backingRead, "bytes read from the backing file");
        qemuIo(p.qemu(), "write -q -P 0x42 1024 4096");
        assertSameAsQemu(p, SIZE);
        // Nothing beyond the touched subclusters was written: the file ends no later than QEMU's (which zero-fills
        // the tail of subcluster 2; jblk leaves it a hole past the end of the file, which reads as zeros).
        assertTrue(Files.size(img) <= Files.size(p.qemu()), "file size " + Files.size(img) + ", QEMU's "
                + Files.size(p.qemu()));
        assertTrue(Files.size(img) >= Files.size(p.qemu()) - 2048, "the written data is in the file: " + Files.size(img));
    }

    @Test
    void alignedWriteOverBackingReadsNothingFromIt() throws Exception {
        Pair p = run("extended_l2=on", true, SIZE, List.of(), List.of(), null);
        try (Qcow2Device d = Qcow2Images.open(p.jblk())) {
            Qcow2Images.write(d, 8192, Qcow2Images.pattern(4096, 0x42));
            assertEquals(0, d.backingBytesRead());
        }
        assertEquals(0x30L, Qcow2Images.l2Entry(p.jblk(), 0)[1]);
        qemuIo(p.qemu(), "write -q -P 0x42 8192 4096");
        assertSameAsQemu(p, SIZE);
    }

    // ---- write-zeroes (notes §2.4) ----

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(booleans = {true, false})
    void writeZeroesWithoutBacking(boolean ext) throws Exception {
        String o = "extended_l2=" + (ext ? "on" : "off");
        Pair p = run(o, false, SIZE, List.of(write(4L * CS, 2L * CS, 0x44), write(9L * CS, CS, 0x45)), List.of(
                zero(2 * SC, 2 * SC),                      // aligned subclusters in an empty cluster
                zero(CS + 5 * SC + 512, 3 * SC - 512),     // unaligned head, rest of subcluster reads zero
                zero(2L * CS + SC, 3 * SC + 1024),         // unaligned tail
                zero(3L * CS, CS),                         // whole unallocated cluster
                zero(4L * CS + 4 * SC, 2 * SC),            // aligned subclusters of an allocated cluster
                zero(4L * CS + 8 * SC + 512, 1024),        // unaligned inside allocated data: real zeros
                zero(5L * CS, CS),                         // whole allocated cluster, host kept
                zeroUnmap(9L * CS, CS),                    // whole allocated cluster with MAY_UNMAP: freed
                zeroUnmap(6L * CS + SC, SC)),              // MAY_UNMAP on part of a cluster never frees
                null);
        assertSameAsQemu(p, SIZE);
        if (ext) {
            assertEquals("0000000000000000 0000000c00000000", entry(p.jblk(), 0));
            assertEquals("0000000000000000 ffffffff00000000", entry(p.jblk(), 3L * CS));
            assertEquals("0000000000000000 ffffffff00000000", entry(p.jblk(), 9L * CS));
        }
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(booleans = {true, false})
    void writeZeroesOverBacking(boolean ext) throws Exception {
        String o = "extended_l2=" + (ext ? "on" : "off");
        Pair p = run(o, true, SIZE, List.of(write(4L * CS, CS, 0x44)), List.of(
                zero(4 * SC, 2 * SC),                      // aligned: zero bits
                zero(6 * SC + 512, 1024),                  // unaligned over backing data: subcluster allocated
                zero(CS + SC, SC + 512),                   // aligned head, unaligned tail
                zero(2L * CS, CS),                         // whole unallocated cluster
                zeroUnmap(3L * CS, CS),                    // same with MAY_UNMAP
                zero(4L * CS + SC, SC),                    // aligned inside allocated data
                zeroUnmap(4L * CS + 5 * SC, 3 * SC)),
                null);
        assertSameAsQemu(p, SIZE);
    }

    @Test
    void zeroTailEndingAtImageEndCountsAsAligned() throws Exception {
        long size = SIZE + 512;
        Pair p = run("extended_l2=on", true, size, List.of(), List.of(zero(SIZE, 512), zero(SIZE - 1024, 1024)),
                null);
        assertSameAsQemu(p, size);
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(booleans = {true, false})
    void writeZeroesOnCompressedClusters(boolean ext) throws Exception {
        String o = "extended_l2=" + (ext ? "on" : "off");
        Pair p = run(o, false, SIZE, List.of(compress(0, 0x61), compress(CS, 0x62), compress(2L * CS, 0x63)),
                List.of(zero(4 * SC, 2 * SC),              // partial: falls back to real zeros (decompress + COW)
                        zero(CS, CS),                      // whole: unmapped
                        zero(2L * CS + 512, 512)),         // unaligned partial
                null);
        assertSameAsQemu(p, SIZE);
        if (ext) {
            assertEquals("0000000000000000 ffffffff00000000", entry(p.jblk(), CS));
        }
    }

    // ---- discard (notes §2.5) ----

    @ParameterizedTest(name = "extended_l2={0} backing={1}")
    @org.junit.jupiter.params.provider.CsvSource({"true,false", "true,true", "false,false", "false,true"})
    void wholeClusterDiscardLikeQemu(boolean ext, boolean withBacking) throws Exception {
        String o = "extended_l2=" + (ext ? "on" : "off");
        List<Op> setup = List.of(write(0, 2L * CS, 0x31), write(3L * CS + 4096, 4096, 0x32),
                zero(5L * CS, 4 * SC));
        List<Op> ops = List.of(discard(0, CS), discard(2L * CS, CS), discard(3L * CS, CS), discard(5L * CS, CS),
                discard(6L * CS, 2L * CS));
        for (String granularity : new String[] {null, "cluster"}) {
            Pair p = run(o, withBacking, SIZE, setup, ops, granularity);
            assertSameAsQemu(p, SIZE);
        }
    }

    @Test
    void subclusterDiscardIsIgnoredByQemuAndWithClusterGranularity() throws Exception {
        List<Op> setup = List.of(write(0, CS, 0x31));
        Pair p = run("extended_l2=on", false, SIZE, setup, List.of(discard(2 * SC, 2 * SC), discard(8 * SC + 512, SC)),
                "cluster");
        assertEquals("8000000000050000 00000000ffffffff", entry(p.qemu(), 0), "QEMU ignores sub-cluster discard");
        assertSameAsQemu(p, SIZE);
    }

    @ParameterizedTest(name = "backing={0}")
    @ValueSource(booleans = {false, true})
    void subclusterDiscardZeroesAndUnallocatesTheSubclusters(boolean withBacking) throws Exception {
        Pair p = run("extended_l2=on", withBacking, SIZE, List.of(write(0, CS, 0x31), write(CS, 4 * SC, 0x32)),
                List.of(), null);
        Path img = p.jblk();
        long blocksBefore = allocatedBytes(img);
        try (Qcow2Device d = openJblk(img, null)) {
            d.discard(2 * SC, 2 * SC).get();
            d.discard(8 * SC + 512, SC).get();           // not subcluster-aligned: nothing whole to drop
            d.discard(CS, 4 * SC).get();                 // every allocated subcluster of cluster 1
        }
        // The discarded subclusters' host bytes were punched (2 of cluster 0, at least).
        long returned = blocksBefore - allocatedBytes(img);
        org.junit.jupiter.api.Assertions.assertTrue(returned >= 2 * SC, "host bytes returned: " + returned);
        long[] e0 = Qcow2Images.l2Entry(img, 0);
        assertEquals(0x8000000000050000L, e0[0], "the host cluster is kept while other subclusters live");
        assertEquals(L2Entry.ALL_ALLOCATED & ~0xcL | L2Entry.zeroRange(2, 3), e0[1]);
        long[] e1 = Qcow2Images.l2Entry(img, CS);
        assertEquals(0, e1[0] & L2Entry.OFFSET_MASK, "a cluster with nothing allocated left is freed");
        assertEquals(0, e1[1] & L2Entry.ALL_ALLOCATED);
        Qcow2Images.assertQemuCheckClean(img);
        byte[] expected = new byte[(int) SIZE];
        if (withBacking) {
            java.util.Arrays.fill(expected, (byte) 0xff);
        }
        java.util.Arrays.fill(expected, 0, CS, (byte) 0x31);
        java.util.Arrays.fill(expected, 2 * SC, 4 * SC, (byte) 0);
        java.util.Arrays.fill(expected, CS, CS + 4 * SC, (byte) 0);
        Qcow2Images.assertSameAsRaw(img, expected, dir);
    }

    /** Bytes the host file system has allocated to the file ({@code stat %b} blocks of 512 bytes). */
    static long allocatedBytes(Path file) throws Exception {
        return 512 * Long.parseLong(ExternalTool.run("stat", "-c", "%b", file.toString()).ok().stdout().trim());
    }

    @Test
    void unalignedZeroTailWidenedToAWholeClusterIsFreedWithMayUnmap() throws Exception {
        // Standard L2: the allocation unit is the cluster. The tail [3 CS, 3 CS + 512) of a MAY_UNMAP zero-write
        // lands in a cluster that already reads as zero (ZERO_ALLOC), so QEMU widens it to the whole cluster and
        // unmaps it: entry = zero flag only.
        Pair p = run("extended_l2=off", false, SIZE, List.of(write(3L * CS, CS, 0x31), zero(3L * CS, CS)),
                List.of(zeroUnmap(0, 3L * CS + 512)), null);
        assertEquals("0000000000000001 0000000000000000", entry(p.qemu(), 3L * CS));
        assertSameAsQemu(p, SIZE);
    }

    @Test
    void v2UnalignedZeroInAnUnallocatedClusterWithoutBackingAllocatesNothing() throws Exception {
        // compat=0.10 has no zero flag: QEMU zeroizes by discarding, so an unaligned piece in an unallocated
        // cluster (which already reads as zero) leaves it unallocated instead of writing real zeros.
        Pair p = run("compat=0.10", false, SIZE, List.of(write(4L * CS, CS, 0x31)),
                List.of(zeroUnmap(0, 2L * CS + 512), zero(3L * CS + 1024, 512), zero(4L * CS + 512, 512)), null);
        assertEquals("0000000000000000 0000000000000000", entry(p.qemu(), 2L * CS));
        assertSameAsQemu(p, SIZE);
    }

    @ParameterizedTest(name = "extended_l2={0}")
    @ValueSource(strings = {"on", "off"})
    void copyOnWriteFromACompressedQcow2Backing(String ext) throws Exception {
        // A zstd-compressed qcow2 base (qemu-img convert -c) under two identical overlays.
        Path src = dir.resolve("src.raw");
        byte[] b = new byte[(int) SIZE];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) ((i >>> 10) * 7 + (i & 0x3f));
        }
        Files.write(src, b);
        qemuImgOk("convert", "-q", "-c", "-f", "raw", "-O", "qcow2", "-o", "compression_type=zstd", src.toString(),
                dir.resolve("base.qcow2").toString());
        Pair p = new Pair(dir.resolve("q.qcow2"), dir.resolve("j.qcow2"));
        for (Path img : List.of(p.qemu(), p.jblk())) {
            qemuImgOk("create", "-q", "-f", "qcow2", "-o", "extended_l2=" + ext, "-F", "qcow2", "-b", "base.qcow2",
                    img.toString(), Long.toString(SIZE));
        }
        List<Op> ops = List.of(write(3072, 512, 0x11), write(CS + 100 * 512, 8192, 0x12), zero(2L * CS + 512, 1024),
                zero(3L * CS + SC, SC), write(5L * CS - 1024, 2048, 0x13), zeroUnmap(6L * CS, CS),
                discard(7L * CS, CS));
        qemuIo(p.qemu(), ops.stream().map(Op::qemuIo).toArray(String[]::new));
        try (Qcow2Device d = openJblk(p.jblk(), "cluster")) {
            for (Op op : ops) {
                op.jblk(d);
            }
        }
        assertSameAsQemu(p, SIZE);
        Qcow2Images.assertReadsLikeQemu(p.jblk(), dir);
    }

    // ---- random request sequences, QEMU against jblk ----

    @ParameterizedTest(name = "-o {0} backing={1}")
    @org.junit.jupiter.params.provider.CsvSource(delimiter = ';', value = {
            "extended_l2=on;false", "extended_l2=on;true", "extended_l2=off;false", "extended_l2=off;true",
            "extended_l2=on,data_file=DATA;false", "extended_l2=on,data_file=DATA;true",
            "extended_l2=off,data_file=DATA;false",
            "extended_l2=on,preallocation=metadata;true", "extended_l2=off,preallocation=metadata;false",
            "compat=0.10;false", "compat=0.10;true",
            "extended_l2=on,cluster_size=16k;true"})
    void randomSequencesGiveQemusEntries(String options, boolean withBacking) throws Exception {
        java.util.SplittableRandom r = io.jblk.api.testing.SeededRandom.forTest(
                "SubclusterSemanticsTest.randomSequences " + options + " backing=" + withBacking);
        boolean small = options.contains("cluster_size=16k");
        int cs = small ? 16384 : CS;
        long size = 16L * cs;
        int sc = options.contains("extended_l2=on") ? cs / 32 : cs;
        List<Op> ops = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            int kind = r.nextInt(10);
            // Offsets and lengths on 512-byte sectors, often on subcluster or cluster boundaries.
            int grain = switch (r.nextInt(3)) {
                case 0 -> 512;
                case 1 -> sc;
                default -> cs;
            };
            long offset = grain * (long) r.nextInt((int) (size / grain));
            long length = Math.min(size - offset, grain * (long) (1 + r.nextInt(3)) + (r.nextBoolean() ? 0 : 512));
            ops.add(switch (kind) {
                case 0, 1, 2, 3 -> write(offset, length, 1 + r.nextInt(250));
                case 4, 5 -> zero(offset, length);
                case 6, 7 -> zeroUnmap(offset, length);
                default -> discard(offset, length);
            });
        }
        // QEMU discards whole clusters only: jblk in its cluster-granularity mode must match it exactly.
        Pair p = run(options, withBacking, size, List.of(), ops, "cluster");
        try {
            // Host offsets may differ here: QEMU reuses a freed cluster at once, jblk only after the L2 entry that
            // dropped it is on disk (see the report); the entries must agree in everything else.
            Qcow2Images.assertQemuCheckClean(p.qemu());
            Qcow2Images.assertQemuCheckClean(p.jblk());
            ExternalTool.Result cmp = ExternalTool.qemuImg("compare", p.qemu().toString(), p.jblk().toString());
            assertEquals(0, cmp.exitCode(), () -> "qemu-img compare:\n" + cmp.stdout() + cmp.stderr());
            assertEquals(entries(p.qemu(), size, false), entries(p.jblk(), size, false),
                    "L2 entries without host offsets (expected = QEMU's, actual = jblk's)");
            // jblk's block status of both images is qemu-img map's.
            Qcow2Images.assertMapLikeQemu(p.qemu());
            Qcow2Images.assertMapLikeQemu(p.jblk());
        } catch (AssertionError e) {
            throw new AssertionError("-o " + options + " backing=" + withBacking + " after " + ops.stream().map(Op::qemuIo).toList() + "\n" + e.getMessage(), e);
        }
    }
}
