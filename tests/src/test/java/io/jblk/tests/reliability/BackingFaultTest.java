package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import io.jblk.nativeio.HostFileOpener;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Faults in backing-file reads. The qcow2 driver opens a raw or qcow2 backing image through the host-file opener it
 * was given, so a {@link FaultyHostFile} opener reaches the backing file: EIO on the reads a copy-on-write of a
 * partial write needs and on a guest read of unallocated data must fail that request with an IOException, leave the
 * image consistent with its flushed data intact, and leave the device working once the fault clears.
 */
class BackingFaultTest {
    static final long SIZE = 4 << 20;

    static Stream<Arguments> chains() {
        return Stream.of(Arguments.of("raw", false), Arguments.of("raw", true),
                Arguments.of("qcow2", false), Arguments.of("qcow2", true));
    }

    @ParameterizedTest(name = "{0} backing, extended_l2={1}")
    @MethodSource("chains")
    void failingBackingReadsFailTheirRequestsAndLoseNothing(String backingFormat, boolean extendedL2,
                                                            @TempDir Path dir) throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        byte[] base = baseContent();
        Path overlay = overlay(dir, backingFormat, extendedL2, base);
        String backingName = "base." + backingFormat;
        FaultPlan plan = new FaultPlan();
        HostOpLog clock = new HostOpLog();
        List<GuestEvent> events;
        try (JournalingBlockDevice dev = new JournalingBlockDevice(
                Qcow2UnderTest.QCOW2.open(overlay, FaultyHostFile.opener(HostFileOpener.DEFAULT, plan), false),
                clock)) {
            Workload.write(dev, 4096, 4096, 1); // a COW of the rest of the cluster (or nothing, with subclusters)
            Workload.write(dev, (1 << 20) + 512, 1024, 2); // a partial subcluster: COW of its other sectors
            Workload.await(dev.flush());

            plan.add(new FaultPlan.Rule(FaultPlan.Kind.READ, 0, FaultPlan.Errno.EIO, FaultPlan.Effect.FAIL,
                    backingName));
            long cowAt = (2 << 20) + 1536; // unallocated cluster, 512 bytes inside a 2 KiB subcluster
            IOException cow = assertThrows(IOException.class, () -> Workload.write(dev, cowAt, 512, 3),
                    "a partial write whose copy-on-write cannot read the backing file fails");
            assertInjected(cow);
            IOException read = assertThrows(IOException.class, () -> read(dev, 3 << 20, 65536),
                    "a read of unallocated data fails when the backing file cannot be read");
            assertInjected(read);
            assertTrue(plan.fired().stream().allMatch(f -> f.contains(backingName)), plan.fired().toString());

            plan.clear();
            Workload.write(dev, cowAt, 512, 4); // the device works again, the same COW included
            byte[] back = read(dev, 3 << 20, 65536);
            assertEquals(-1, java.util.Arrays.mismatch(back, java.util.Arrays.copyOfRange(base, 3 << 20,
                    (3 << 20) + 65536)), "unallocated data reads from the backing file after the fault cleared");
            Workload.await(dev.flush());
            events = dev.events();
        }
        assertConsistent(overlay);
        try (BlockDevice reopened = Qcow2UnderTest.QCOW2.open(overlay, HostFileOpener.DEFAULT, true)) {
            assertEquals(List.of(), new CrashOracle(base, events).expectationAt(Long.MAX_VALUE).check(reopened, 3),
                    "flushed writes read back, the rest reads as the backing file");
        }
    }

    /**
     * Every backing read of a workload of partial (COW) writes and reads of unallocated data, failed once in its own
     * run: the failure surfaces, {@code qemu-img check} finds no corruption, and after the fault clears every write
     * acknowledged before the last successful flush reads back.
     */
    @ParameterizedTest(name = "{0} backing, extended_l2={1}")
    @MethodSource("chains")
    void everyBackingReadFailedOnceSurfacesAndLosesNothing(String backingFormat, boolean extendedL2,
                                                           @TempDir Path dir) throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        long seed = SeededRandom.forTest("backing faults " + backingFormat + " " + extendedL2).nextLong();
        Path pristine = overlay(dir, backingFormat, extendedL2, baseContent());
        String backingName = "base." + backingFormat;
        Workload workload = (device, random) -> {
            for (int i = 0; i < 12; i++) {
                long cluster = random.nextLong(SIZE / 65536) * 65536;
                int sectors = 1 + random.nextInt(4);
                long at = cluster + random.nextInt(128 - sectors) * 512L;
                Workload.write(device, at, sectors * 512, i + 1);
                if (random.nextInt(3) == 0) {
                    read(device, random.nextLong(SIZE / 65536) * 65536, 65536);
                }
                if (random.nextInt(4) == 0) {
                    Workload.await(device.flush());
                }
            }
        };
        FaultSweep sweep = new FaultSweep(Qcow2UnderTest.QCOW2, workload, seed);
        long reads = sweep.countOps(pristine, dir, FaultPlan.Kind.READ);
        List<FaultSweep.Outcome> outcomes = sweep.sweep(pristine, dir, Math.min(reads, 120),
                k -> new FaultPlan.Rule(FaultPlan.Kind.READ, k, FaultPlan.Errno.EIO, FaultPlan.Effect.FAIL,
                        backingName), image -> {
                    QemuImgCheck.Report report = QemuImgCheck.run(image, null);
                    return report.consistent() ? null : "qemu-img check: " + report.transcript();
                });
        List<String> problems = new ArrayList<>();
        int fired = 0;
        for (FaultSweep.Outcome o : outcomes) {
            if (!o.fired().isEmpty()) {
                fired++;
                if (o.surfaced() == null && o.problem() == null) {
                    problems.add("#" + o.k() + " " + o.fired() + " -> the failed backing read was not reported");
                }
            }
            if (o.problem() != null) {
                problems.add("#" + o.k() + " " + o.fired() + " -> " + o.problem());
            }
        }
        System.out.println("[fault] qcow2 over " + backingFormat + " backing, extended_l2=" + extendedL2 + ": "
                + reads + " reads (overlay and backing), " + fired + " backing reads failed, " + problems.size()
                + " problems");
        assertTrue(fired >= 5, "the workload reads the backing file (" + fired + " injections fired)");
        assertEquals(List.of(), problems.stream().limit(5).toList(),
                SeededRandom.withSeed(problems.size() + " backing-read faults broke the image", seed));
    }

    /** 4 MiB whose every 8 bytes differ, so data from the wrong place is recognisable. */
    static byte[] baseContent() {
        byte[] base = new byte[(int) SIZE];
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(base);
        for (int i = 0; i < base.length; i += 8) {
            b.putLong(i, 0xba5e000000000000L ^ i);
        }
        return base;
    }

    /** An empty 4 MiB qcow2 overlay (64 KiB clusters) over a raw or qcow2 image of {@code base}. */
    static Path overlay(Path dir, String backingFormat, boolean extendedL2, byte[] base)
            throws IOException, InterruptedException {
        Path raw = Files.write(dir.resolve("base.raw"), base);
        if (backingFormat.equals("qcow2")) {
            ExternalTool.qemuImg("convert", "-f", "raw", "-O", "qcow2", raw.toString(),
                    dir.resolve("base.qcow2").toString()).ok();
        }
        return Qcow2UnderTest.create(dir.resolve("overlay.qcow2"), SIZE, "cluster_size=65536,extended_l2="
                + (extendedL2 ? "on" : "off") + ",backing_file=base." + backingFormat + ",backing_fmt=" + backingFormat);
    }

    static byte[] read(BlockDevice device, long offset, int length) throws IOException {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buffer = arena.allocate(length, 4096);
            Workload.await(device.read(offset, buffer));
            return buffer.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** The failure names the injected error (possibly wrapped), so it is the fault and not something else. */
    private static void assertInjected(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof InjectedFault) {
                return;
            }
        }
        throw new AssertionError("expected the injected EIO, got " + e, e);
    }

    private static void assertConsistent(Path image) throws IOException, InterruptedException {
        QemuImgCheck.Report report = QemuImgCheck.run(image, null);
        assertTrue(report.consistent(), report.transcript());
    }
}
