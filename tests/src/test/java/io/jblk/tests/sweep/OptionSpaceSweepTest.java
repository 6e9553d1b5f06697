package io.jblk.tests.sweep;

import io.jblk.api.testing.ExternalTool;
import io.jblk.tests.reliability.QemuImgCheck;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The differential sweep against qemu-img over the qcow2 option space (cluster size x extended L2 x refcount width
 * x virtual size x create / grow / shrink / convert), at the sizes where the metadata crosses a boundary
 * ({@link Boundaries}); which cases run is {@link SweepPlan}'s business ({@code -Djblk.optionSweep=full} for all of
 * them).
 *
 * <p>For every case: the {@code jblk} command (run in a child JVM, {@link JblkProcess}) finishes within a deadline
 * proportional to the metadata it has to write, {@code qemu-img check} finds the result clean, and the result is
 * compared with what qemu-img makes of the same input:
 *
 * <ul>
 *   <li>create, grow, convert (with {@code -S 512}, so every write allocates one cluster in both tools): the files
 *   are byte-identical, header, L1 table and refcount structures included (a difference is reported by the
 *   structure it is in);</li>
 *   <li>shrink: the same virtual size and guest content, and a file no larger than qemu-img's plus two clusters
 *   (qemu-img 7.2 allocates an L2 table for every L1 entry it gives up before freeing them all, which can move its
 *   refcount table; jblk frees without allocating, so the layouts differ by design, docs/qcow2.md);</li>
 *   <li>sizes past the largest: both refuse.</li>
 * </ul>
 */
class OptionSpaceSweepTest {
    /** How many bytes a jblk image may exceed qemu-img's where the layouts differ by design (shrink). */
    private static final int SLACK_CLUSTERS = 2;
    /** No file jblk writes in the sweep legitimately reaches this; a runaway allocator stops here. */
    private static final long FILE_SIZE_LIMIT = 1L << 30;

    /** Convert sources up to this size are sparse raw files. */
    private static final long RAW_SOURCE_LIMIT = 1L << 40;

    private static Path root;
    private static java.util.concurrent.ExecutorService pool;
    /** One worker JVM per sweep thread. */
    private static final List<JblkProcess> workers = java.util.Collections.synchronizedList(new ArrayList<>());
    private static final ThreadLocal<JblkProcess> jblk = ThreadLocal.withInitial(() -> {
        JblkProcess p = new JblkProcess(FILE_SIZE_LIMIT);
        workers.add(p);
        return p;
    });

    @BeforeAll
    static void start() throws IOException {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        root = Files.createTempDirectory("jblk-sweep");
    }

    @AfterAll
    static void stop() throws Exception {
        if (pool != null) {
            pool.shutdownNow();
            pool.awaitTermination(10, java.util.concurrent.TimeUnit.MINUTES);
        }
        for (JblkProcess p : workers) {
            p.close();
        }
        if (root != null) {
            delete(root);
        }
    }

    /** System properties of the sweep; see docs/qcow2.md, "Differential sweep against qemu-img". */
    static final String PROPERTY = "jblk.optionSweep";

    @TestFactory
    Stream<DynamicTest> sweep() {
        boolean full = "full".equals(System.getProperty(PROPERTY));
        List<SweepPlan.Case> planned = full
                ? SweepPlan.fullPlan(Boolean.getBoolean(PROPERTY + ".every"), new SweepPlan.Budgets(
                        Long.getLong(PROPERTY + ".qemuBudget", SweepPlan.FULL_BUDGET),
                        Long.getLong(PROPERTY + ".qemuShrinkEntries", SweepPlan.FULL_SHRINK_ENTRIES),
                        Long.getLong(PROPERTY + ".qemuShrinkBytes", SweepPlan.FULL_SHRINK_BYTES),
                        Long.getLong(PROPERTY + ".qemuConvertSize", SweepPlan.FULL_CONVERT_BUDGET)))
                : SweepPlan.defaultPlan();
        String filter = System.getProperty(PROPERTY + ".filter");
        if (filter != null) {
            java.util.regex.Pattern p = java.util.regex.Pattern.compile(filter);
            planned = planned.stream().filter(c -> p.matcher(c.toString()).find()).toList();
        }
        List<SweepPlan.Case> plan = planned;
        String summary = "option-space sweep: " + (full ? "full" : "default") + " plan, " + SweepPlan.summary(plan);
        List<String> lines = new ArrayList<>(List.of(summary));
        boolean listOnly = Boolean.getBoolean(PROPERTY + ".list");
        if (listOnly) {
            // The plan only, to see what a run would do (and ask of qemu-img) before running it: on standard output
            // (surefire keeps it in tests/target/surefire-reports/*OptionSpaceSweepTest-output.txt) and in the log.
            plan.forEach(c -> lines.add("  " + c + ", qemu-img cost " + c.geometry().qemuCost(c.size())));
        }
        try {
            for (String line : lines) {
                System.out.println(line);
                log(line);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        if (listOnly) {
            return Stream.empty();
        }
        // Cases run ahead on a few threads, each with its own jblk worker JVM; the dynamic tests report them in plan
        // order as they complete.
        int threads = Integer.getInteger(PROPERTY + ".threads",
                Math.min(4, Runtime.getRuntime().availableProcessors()));
        pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
        List<java.util.concurrent.Future<?>> results = new ArrayList<>();
        for (SweepPlan.Case c : plan) {
            results.add(pool.submit(() -> {
                run(c);
                return null;
            }));
        }
        return java.util.stream.IntStream.range(0, plan.size()).mapToObj(i -> DynamicTest.dynamicTest(
                plan.get(i).toString(), () -> {
                    try {
                        results.get(i).get();
                    } catch (java.util.concurrent.ExecutionException e) {
                        if (e.getCause() instanceof Error err) {
                            throw err;
                        }
                        throw e.getCause();
                    }
                }));
    }

    /** Deadline of one jblk command: generous, and proportional to the metadata it writes. */
    static Duration deadline(SweepGeometry g, long size) {
        return Duration.ofSeconds(30).plusMillis(20 * g.metadataClusters(size));
    }

    private void run(SweepPlan.Case c) throws Exception {
        Path dir = Files.createTempDirectory(root, "case");
        long start = System.nanoTime();
        String verdict = "failed";
        try {
            switch (c.op()) {
                case CREATE -> create(c, dir);
                case GROW -> resize(c, dir, SweepPlan.base(c.geometry()), c.size());
                case SHRINK -> resize(c, dir, c.size(), SweepPlan.base(c.geometry()));
                case CONVERT -> convert(c, dir);
                case TOO_LARGE -> tooLarge(c, dir);
            }
            verdict = "ok";
        } finally {
            delete(dir);
            log(String.format("%6d ms %-6s %s", (System.nanoTime() - start) / 1_000_000, verdict, c));
        }
    }

    /** With {@code -Djblk.optionSweep.log=FILE}, one line per case (time, verdict, case) is appended as it ends. */
    private static synchronized void log(String line) throws IOException {
        String file = System.getProperty(PROPERTY + ".log");
        if (file != null) {
            Files.writeString(Path.of(file), line + "\n", java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.APPEND);
        }
    }

    private void create(SweepPlan.Case c, Path dir) throws Exception {
        SweepGeometry g = c.geometry();
        Path j = dir.resolve("j.qcow2");
        jblkOk(c, c.size(), "create", "-q", "-f", "qcow2", "-o", g.options(), j.toString(), Long.toString(c.size()));
        assertClean(j);
        if (c.compare()) {
            Path q = dir.resolve("q.qcow2");
            ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", g.options(), q.toString(),
                    Long.toString(c.size())).ok();
            assertSameBytes(q, j);
        }
    }

    private void resize(SweepPlan.Case c, Path dir, long from, long to) throws Exception {
        SweepGeometry g = c.geometry();
        Path start = dir.resolve("start.qcow2");
        if (c.compare() || g.qemuCost(from) <= SweepPlan.Budgets.DEFAULT.cost()) {
            ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", g.options(), start.toString(),
                    Long.toString(from)).ok();
        } else {
            // qemu-img would take minutes to create it (its allocator is quadratic here, 300 s and more under load);
            // jblk's create, byte-identical to qemu-img's wherever both were compared, makes the start image.
            jblkOk(c, from, "create", "-q", "-f", "qcow2", "-o", g.options(), start.toString(), Long.toString(from));
        }
        boolean shrink = to < from;
        if (shrink) {
            // Something to give up: data in the first and the last sector, in L2 tables of their own.
            ExternalTool.qemuIo("-f", "qcow2", "-c", "write -P 0xa5 0 512", "-c",
                    "write -P 0x5a " + (from - 512) + " 512", start.toString()).ok();
        }
        Path j = dir.resolve("j.qcow2");
        Files.copy(start, j);
        List<String> args = new ArrayList<>(List.of("resize", "-q", "-f", "qcow2"));
        if (shrink) {
            args.add("--shrink");
        }
        args.addAll(List.of(j.toString(), Long.toString(to)));
        jblkOk(c, Math.max(from, to), args.toArray(String[]::new));
        assertClean(j);
        if (!c.compare()) {
            assertEquals(to, Qcow2Layout.read(j).size(), "virtual size after jblk resize");
            return;
        }
        Path q = dir.resolve("q.qcow2");
        Files.move(start, q, StandardCopyOption.REPLACE_EXISTING);
        args.set(0, "resize");
        args.set(args.size() - 2, q.toString());
        ExternalTool.qemuImg(args.toArray(String[]::new)).ok();
        if (!shrink) {
            assertSameBytes(q, j);
            return;
        }
        Qcow2Layout ql = Qcow2Layout.read(q);
        Qcow2Layout jl = Qcow2Layout.read(j);
        assertEquals(ql.size(), jl.size(), "virtual size after shrinking");
        assertEquals(ql.l1Size(), jl.l1Size(), "L1 entries after shrinking (qemu-img keeps the table's size)");
        long slack = (long) SLACK_CLUSTERS << g.clusterBits();
        assertTrue(Files.size(j) <= Files.size(q) + slack, "jblk's shrunk file is " + Files.size(j)
                + " bytes, qemu-img's " + Files.size(q) + " (allowed: + " + slack + ")");
        ExternalTool.qemuImg("compare", "-f", "qcow2", "-F", "qcow2", q.toString(), j.toString()).ok();
    }

    private void convert(SweepPlan.Case c, Path dir) throws Exception {
        SweepGeometry g = c.geometry();
        // The source has data in its first and last sectors; -S 512 makes both tools write exactly those sectors.
        // It is a sparse raw file (no process to start) unless that would exceed what a file system takes, then a
        // qcow2 image with 2 MiB clusters (which reaches 2 EiB).
        boolean raw = c.size() <= RAW_SOURCE_LIMIT;
        Path src = dir.resolve(raw ? "src.raw" : "src.qcow2");
        if (raw) {
            try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(src.toFile(), "rw")) {
                f.setLength(c.size());
                f.write(sector(0xa5));
                if (c.size() >= 1024) {
                    f.seek(c.size() - 512);
                    f.write(sector(0x5a));
                }
            }
        } else {
            ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", src.toString(),
                    Long.toString(c.size())).ok();
            ExternalTool.qemuIo("-f", "qcow2", "-c", "write -P 0xa5 0 512", "-c",
                    "write -P 0x5a " + (c.size() - 512) + " 512", src.toString()).ok();
        }
        String format = raw ? "raw" : "qcow2";
        Path j = dir.resolve("j.qcow2");
        jblkOk(c, c.size(), "convert", "-f", format, "-O", "qcow2", "-o", g.options(), "-S", "512", src.toString(),
                j.toString());
        assertClean(j);
        if (c.compare()) {
            Path q = dir.resolve("q.qcow2");
            ExternalTool.qemuImg("convert", "-f", format, "-O", "qcow2", "-o", g.options(), "-S", "512",
                    src.toString(), q.toString()).ok();
            assertSameBytes(q, j);
        }
    }

    private static byte[] sector(int value) {
        byte[] b = new byte[512];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    private void tooLarge(SweepPlan.Case c, Path dir) throws Exception {
        SweepGeometry g = c.geometry();
        String size = Long.toString(c.size());
        int qemu = ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", g.options(),
                dir.resolve("q.qcow2").toString(), size).exitCode();
        assertNotEquals(0, qemu, "qemu-img create accepted " + size);
        JblkProcess.Outcome created = jblk(c, g.clusterSize(), "create", "-q", "-f", "qcow2", "-o", g.options(),
                dir.resolve("j.qcow2").toString(), size);
        assertNotEquals(0, created.exitCode(), "jblk create accepted " + size + " (qemu-img refuses it)");
        Path j = dir.resolve("grown.qcow2");
        ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", g.options(), j.toString(),
                Long.toString(g.clusterSize())).ok();
        JblkProcess.Outcome grown = jblk(c, g.clusterSize(), "resize", "-q", "-f", "qcow2", j.toString(), size);
        assertNotEquals(0, grown.exitCode(), "jblk resize accepted " + size + " (qemu-img refuses it)");
        assertClean(j);
    }

    private JblkProcess.Outcome jblk(SweepPlan.Case c, long metadataSize, String... args) throws Exception {
        try {
            return jblk.get().run(deadline(c.geometry(), metadataSize), args);
        } catch (JblkProcess.TimedOut e) {
            throw new AssertionError(c + ": " + e.getMessage());
        }
    }

    private void jblkOk(SweepPlan.Case c, long metadataSize, String... args) throws Exception {
        JblkProcess.Outcome o = jblk(c, metadataSize, args);
        if (o.exitCode() != 0) {
            fail("jblk " + String.join(" ", args) + " exited " + o.exitCode() + " after " + o.millis() + " ms: "
                    + o.stderr());
        }
    }

    private static void assertClean(Path image) throws Exception {
        QemuImgCheck.Report report = QemuImgCheck.run(image, null);
        assertTrue(report.clean(), () -> "qemu-img check of jblk's image: " + report.transcript());
    }

    /**
     * Byte-identical files (up to zeros past the shorter file's end), and jblk's no longer than qemu-img's plus a
     * cluster; otherwise names the first structure that differs, with both values.
     */
    private static void assertSameBytes(Path qemu, Path jblkImage) throws IOException {
        long clusterSize = Qcow2Layout.read(qemu).clusterSize();
        assertTrue(Files.size(jblkImage) <= Files.size(qemu) + clusterSize, "jblk's file is " + Files.size(jblkImage)
                + " bytes, qemu-img's " + Files.size(qemu));
        long at = Qcow2Layout.firstDifference(qemu, jblkImage);
        if (at < 0) {
            return;
        }
        Qcow2Layout layout = Qcow2Layout.read(qemu);
        fail("jblk's image differs from qemu-img's (" + Files.size(jblkImage) + " / " + Files.size(qemu)
                + " bytes) first at 0x" + Long.toHexString(at) + ", in qemu-img's " + layout.describe(at)
                + ": qemu-img " + Qcow2Layout.hex(qemu, at) + ", jblk " + Qcow2Layout.hex(jblkImage, at));
    }

    private static void delete(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
