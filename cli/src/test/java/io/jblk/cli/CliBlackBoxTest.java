package io.jblk.cli;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The {@code jblk} command as a black box: each case of {@link CliSweep} runs {@code jblk} in a child JVM in a
 * directory of its own, as a user would, and, where QEMU has the same command, qemu-img or qemu-io on the same
 * arguments in another; then the case's assertions run (exit code, what the message names, no Java stack trace
 * without {@code --debug}, same success or failure as QEMU).
 *
 * <p>About 190 child JVMs, two at a time ({@code -Djblk.cli.parallel=N}); {@code -Djblk.cli.sweep=full} adds more
 * bad sizes and patterns. QEMU's tools are optional: without them the comparisons are left out, the rest runs.
 */
class CliBlackBoxTest {
    @TempDir
    static Path root;
    private static CliFixtures fixtures;
    private static ChildProcess.Jvm jvm;

    @BeforeAll
    static void fixtures() throws Exception {
        fixtures = CliFixtures.create(root);
        jvm = new ChildProcess.Jvm(java.nio.file.Files.createDirectories(root.resolve("jvm")));
    }

    @AfterAll
    static void unlock() throws Exception {
        if (fixtures != null) {
            fixtures.close();
        }
    }

    private record Outcome(CliCase c, Path dir, ChildProcess.Result jblk, ChildProcess.Result qemu,
                           String skipped) {
    }

    @TestFactory
    List<DynamicTest> sweep() throws Exception {
        boolean full = System.getProperty("jblk.cli.sweep", "quick").equals("full");
        int parallel = Integer.getInteger("jblk.cli.parallel", 2);
        boolean prlimit = ChildProcess.onPath("prlimit");
        List<CliCase> cases = CliSweep.cases(full);
        List<Future<Outcome>> futures = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(parallel)) {
            for (CliCase c : cases) {
                futures.add(pool.submit(() -> run(c, prlimit)));
            }
        }
        List<DynamicTest> tests = new ArrayList<>();
        Map<String, List<Outcome>> groups = new LinkedHashMap<>();
        for (Future<Outcome> f : futures) {
            Outcome o = f.get();
            tests.add(DynamicTest.dynamicTest(o.c().name, () -> {
                assumeTrue(o.skipped() == null, o.skipped());
                o.c().verify(o.jblk(), o.dir(), o.qemu());
            }));
            if (o.c().sameStdoutGroup() != null && o.jblk() != null) {
                groups.computeIfAbsent(o.c().sameStdoutGroup(), g -> new ArrayList<>()).add(o);
            }
        }
        groups.forEach((group, outcomes) -> tests.add(DynamicTest.dynamicTest(group + " is the same every way asked",
                () -> {
                    for (Outcome o : outcomes) {
                        assertEquals(outcomes.getFirst().jblk().stdout(), o.jblk().stdout(),
                                outcomes.getFirst().c().name + " and " + o.c().name + " differ");
                    }
                })));
        return tests;
    }

    private static Outcome run(CliCase c, boolean prlimit) throws Exception {
        if (c.needsReadOnly() && fixtures.readOnlyProblem() != null) {
            return new Outcome(c, null, null, null, fixtures.readOnlyProblem());
        }
        Path dir = fixtures.newRun(c.name);
        c.setup().prepare(dir);
        long limit = prlimit ? c.addressSpace() : 0;
        ChildProcess.Result jblk = ChildProcess.run(dir, (limit > 0 ? "prlimit --as=" + limit + " " : "") + "jblk "
                + String.join(" ", c.args), jvm.command(limit, c.args));
        ChildProcess.Result qemu = null;
        if (c.qemu() != null && ChildProcess.onPath(c.qemu().getFirst())) {
            Path qemuDir = fixtures.newRun("qemu " + c.name);
            c.setup().prepare(qemuDir);
            qemu = ChildProcess.run(qemuDir, String.join(" ", c.qemu()), c.qemu());
        }
        return new Outcome(c, dir, jblk, qemu, null);
    }
}
