package io.jblk.tests.reliability;

import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fault injection into the qcow2 driver: for every host operation of one kind that a workload issues (data writes,
 * L2 and refcount updates, header writes, fdatasync, metadata reads), fail exactly that one, then check that the
 * failure surfaced as an IOException, {@code qemu-img check} finds no corruption (leaks allowed), and after the
 * fault clears the image reopens with every write acknowledged before the last successful flush intact.
 */
class Qcow2FaultTest {

    static Stream<Arguments> faults() {
        return Stream.of(
                Arguments.of(FaultPlan.Kind.WRITE, FaultPlan.Effect.FAIL, FaultPlan.Errno.EIO, "lazy_refcounts=off"),
                Arguments.of(FaultPlan.Kind.WRITE, FaultPlan.Effect.SHORT_WRITE, FaultPlan.Errno.ENOSPC,
                        "lazy_refcounts=off"),
                Arguments.of(FaultPlan.Kind.WRITE, FaultPlan.Effect.FAIL, FaultPlan.Errno.ENOSPC, "lazy_refcounts=on"),
                Arguments.of(FaultPlan.Kind.FLUSH, FaultPlan.Effect.STICKY, FaultPlan.Errno.EIO, "lazy_refcounts=off"),
                Arguments.of(FaultPlan.Kind.FLUSH, FaultPlan.Effect.FAIL, FaultPlan.Errno.EIO, "lazy_refcounts=on"),
                Arguments.of(FaultPlan.Kind.READ, FaultPlan.Effect.FAIL, FaultPlan.Errno.EIO, "lazy_refcounts=off"),
                Arguments.of(FaultPlan.Kind.PUNCH, FaultPlan.Effect.FAIL, FaultPlan.Errno.EIO, "lazy_refcounts=off"));
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("faults")
    void everyInjectedFaultSurfacesAndLosesNothingFlushed(FaultPlan.Kind kind, FaultPlan.Effect effect,
                                                          FaultPlan.Errno errno, String lazy, @TempDir Path dir)
            throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        long seed = SeededRandom.forTest("qcow2 faults " + kind + " " + effect).nextLong();
        Path pristine = Qcow2UnderTest.create(dir.resolve("pristine.qcow2"), 4 << 20,
                "cluster_size=65536,extended_l2=on," + lazy);
        Qcow2UnderTest.qemuIo(pristine, "write -P 0x44 1M 256k");
        Workload workload = (device, random) -> {
            Qcow2CrashTest.allocating4k(16).run(device, random);
            Qcow2CrashTest.zeroesAndDiscards(8).run(device, random);
            // Whatever the random part did, release host space for sure (a subcluster discard punches at once, a
            // whole-cluster one at the next flush), so every fault kind, PUNCH included, has operations to hit.
            Workload.await(device.discard((1 << 20) + 2048, 4096));
            Workload.await(device.discard((1 << 20) + 65536, 65536));
            Workload.await(device.flush());
        };
        sweepAndCheck(Qcow2UnderTest.QCOW2, workload, pristine, dir, kind, effect, errno, lazy, seed);
    }

    /**
     * The same sweep over a workload that grows the L1 table: allocating writes on a 1 MiB image with 16 KiB
     * extended-L2 clusters, a resize to 18 MiB (the driver writes a larger L1 table, points the header at it and
     * frees the old one), allocating writes beyond the old size. Every write point of the resize is hit, among them
     * the new L1 table and the header's L1 fields.
     */
    /** The fault kinds of {@link #faults()} but punch-hole: growing the disk and allocating release nothing. */
    static Stream<Arguments> l1GrowthFaults() {
        return faults().filter(a -> a.get()[0] != FaultPlan.Kind.PUNCH);
    }

    @ParameterizedTest(name = "{0} {1} {2} {3}")
    @MethodSource("l1GrowthFaults")
    void faultsWhileTheL1TableGrowsLoseNothingFlushed(FaultPlan.Kind kind, FaultPlan.Effect effect,
                                                      FaultPlan.Errno errno, String lazy, @TempDir Path dir)
            throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        long seed = SeededRandom.forTest("qcow2 L1 growth faults " + kind + " " + effect).nextLong();
        Path pristine = Qcow2UnderTest.create(dir.resolve("pristine.qcow2"), 1 << 20,
                "cluster_size=16384,extended_l2=on," + lazy);
        Qcow2UnderTest.qemuIo(pristine, "write -P 0x44 0 64k");
        List<FaultSweep.Outcome> outcomes = sweepAndCheck(Qcow2UnderTest.QCOW2_RESIZABLE,
                Qcow2CrashTest.l1Growth(12, Qcow2CrashTest.L1_GROWN_SIZE), pristine, dir, kind, effect, errno,
                "L1 growth " + lazy, seed);
        if (kind == FaultPlan.Kind.WRITE) {
            assertTrue(outcomes.stream().anyMatch(o -> o.fired().stream().anyMatch(f -> f.contains("write @36+12 "))),
                    "a fault hit the header write that switches to the grown L1 table");
        }
    }

    private static List<FaultSweep.Outcome> sweepAndCheck(DeviceUnderTest device, Workload workload, Path pristine,
                                                          Path dir, FaultPlan.Kind kind, FaultPlan.Effect effect,
                                                          FaultPlan.Errno errno, String lazy, long seed)
            throws Exception {
        FaultSweep sweep = new FaultSweep(device, workload, seed);
        long ops = sweep.countOps(pristine, dir, kind);
        long upTo = Math.min(ops, 80);
        List<FaultSweep.Outcome> outcomes = sweep.sweep(pristine, dir, upTo,
                k -> new FaultPlan.Rule(kind, k, errno, effect, null), image -> {
                    QemuImgCheck.Report report = QemuImgCheck.run(image, null);
                    return report.consistent() ? null : "qemu-img check: " + report.transcript();
                });
        List<String> problems = new ArrayList<>();
        int fired = 0;
        int surfaced = 0;
        for (FaultSweep.Outcome o : outcomes) {
            if (!o.fired().isEmpty()) {
                fired++;
            }
            if (o.surfaced() != null) {
                surfaced++;
            }
            if (o.problem() != null) {
                problems.add(kind + " #" + o.k() + " " + o.fired() + " -> " + o.problem());
            }
        }
        System.out.println("[fault] qcow2 " + kind + " " + effect + " " + errno + " " + lazy + ": " + ops + " ops, "
                + upTo + " injections, " + fired + " fired, " + surfaced + " surfaced, " + problems.size()
                + " problems");
        assertTrue(ops > 0, "the workload issues " + kind + " operations");
        assertEquals(List.of(), problems.stream().limit(5).toList(),
                SeededRandom.withSeed(problems.size() + " injections broke the image", seed));
        return outcomes;
    }
}
