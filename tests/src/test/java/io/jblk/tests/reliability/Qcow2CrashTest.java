package io.jblk.tests.reliability;

import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Crash consistency of the qcow2 driver: record a workload's host I/O, enumerate crash states, and for each one
 * check with {@code qemu-img check} (no corruptions) and the {@link CrashOracle} (flushed data exact, unflushed
 * data old-or-new per sector, nothing else changed), after jblk opened — and, when dirty, repaired — the image.
 *
 * <p>The normal run covers a fast subset; {@code -Pcrash} (system property {@code jblk.crash=full}) enumerates
 * far more states per workload.
 */
class Qcow2CrashTest {
    static final boolean FULL = "full".equals(System.getProperty("jblk.crash", "fast"));

    /** One scenario: image options, optional backing file and pre-fill, and the workload under test. */
    record Scenario(String name, String options, boolean backing, String[] prefill, boolean snapshot,
                    Workload workload, long size) {
        Scenario(String name, String options, boolean backing, String[] prefill, boolean snapshot,
                 Workload workload) {
            this(name, options, backing, prefill, snapshot, workload, 4 << 20);
        }

        @Override
        public String toString() {
            return name + " [" + options + "]";
        }
    }

    static Stream<Arguments> scenarios() {
        int ops = FULL ? 120 : 24;
        List<Arguments> all = new ArrayList<>();
        for (String lazy : List.of("off", "on")) {
            String ext = "cluster_size=65536,extended_l2=on,lazy_refcounts=" + lazy;
            all.add(Arguments.of(new Scenario("allocating 4K writes", ext, false, new String[0], false,
                    allocating4k(ops))));
            all.add(Arguments.of(new Scenario("allocating 4K writes over backing", ext, true, new String[0], false,
                    allocating4k(ops))));
            all.add(Arguments.of(new Scenario("zeroes and discards", ext, false,
                    new String[] {"write -P 0x11 0 1M"}, false, zeroesAndDiscards(ops))));
            all.add(Arguments.of(new Scenario("refcount table growth",
                    "cluster_size=512,refcount_bits=64,lazy_refcounts=" + lazy, false, new String[0], false,
                    sequential64k(FULL ? 64 : 40))));
            all.add(Arguments.of(new Scenario("COW of snapshot-shared clusters", ext, false,
                    new String[] {"write -P 0x22 0 2M"}, true, allocating4k(ops))));
            all.add(Arguments.of(new Scenario("mixed random", ext, true, new String[] {"write -P 0x33 1M 1M"}, false,
                    Workload.mixed(ops, 65536, 5, true))));
            all.add(Arguments.of(new Scenario("L1 growth by resize",
                    "cluster_size=16384,extended_l2=on,lazy_refcounts=" + lazy, false,
                    new String[] {"write -P 0x55 0 64k"}, false, l1Growth(ops, L1_GROWN_SIZE), 1 << 20)));
        }
        // -Djblk.crash.only=TEXT runs only the scenarios whose name contains TEXT (e.g. "L1 growth").
        String only = System.getProperty("jblk.crash.only", "");
        return all.stream().filter(a -> a.get()[0].toString().contains(only));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("scenarios")
    void everyCrashStateIsConsistentAndKeepsFlushedData(Scenario scenario, @TempDir Path dir) throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        SplittableRandom random = SeededRandom.forTest("qcow2 crash " + scenario);
        long seed = random.nextLong();
        long size = scenario.size();
        List<Path> staticFiles = new ArrayList<>();
        String options = scenario.options();
        byte[] backingBytes = new byte[(int) size];
        if (scenario.backing()) {
            Path base = dir.resolve("base.raw");
            for (int i = 0; i < backingBytes.length; i++) {
                backingBytes[i] = (byte) (0xb0 + (i >> 16)); // a different byte per 64 KiB
            }
            Files.write(base, backingBytes);
            staticFiles.add(base);
            options += ",backing_file=base.raw,backing_fmt=raw";
        } else {
            backingBytes = new byte[(int) size];
        }
        Path image = Qcow2UnderTest.create(dir.resolve("disk.qcow2"), size, options);
        if (scenario.prefill().length > 0) {
            Qcow2UnderTest.qemuIo(image, scenario.prefill());
        }
        if (scenario.snapshot()) {
            ExternalTool.qemuImg("snapshot", "-c", "s1", image.toString()).ok();
        }
        byte[] initial = Qcow2UnderTest.guestContent(image);

        RecordingHostFileOpener recorder = new RecordingHostFileOpener();
        List<GuestEvent> events;
        try (JournalingBlockDevice dev = new JournalingBlockDevice(
                Qcow2UnderTest.QCOW2_RESIZABLE.open(image, recorder, false), recorder.log())) {
            scenario.workload().run(dev, new SplittableRandom(seed));
            events = dev.events();
        }
        QemuImgCheck.Report afterWorkload = QemuImgCheck.run(image, null);
        assertTrue(afterWorkload.clean(), () -> "the image is clean after the workload itself: "
                + afterWorkload.transcript());

        boolean lazy = options.contains("lazy_refcounts=on");
        int[] checks = {0};
        int checkEvery = FULL ? 50 : 8; // qemu-img check is a process per call: sample it
        CrashCampaign.FileCheck qemuCheck = (file, state) -> {
            if (checks[0]++ % checkEvery != 0) {
                return null;
            }
            QemuImgCheck.Report report = QemuImgCheck.run(file, null);
            return report.consistent() ? null : "qemu-img check: " + report.transcript();
        };
        CrashStateEnumerator.Limits limits = FULL ? new CrashStateEnumerator.Limits(16, 400, 20_000)
                : new CrashStateEnumerator.Limits(3, 6, 120);
        RepairProbe repairs = new RepairProbe(Qcow2UnderTest.QCOW2_FOR_REPAIR,
                FULL ? RepairProbe.Budget.full() : RepairProbe.Budget.fast(), new SplittableRandom(seed ^ 0x7e9a12L));
        CrashCampaign.Result result = new CrashCampaign(recorder, image, initial, events, backingBytes)
                .withRepairProbe(repairs).run(Qcow2UnderTest.QCOW2, limits, random, dir.resolve("work"),
                        lazy ? null : qemuCheck, qemuCheck, staticFiles,
                        FULL ? Integer.getInteger("jblk.crash.maxStates", 10_000) : 400);
        CrashCampaign.progress("[crash] qcow2 " + scenario + ": " + result.states() + " states " + result.perKind()
                + ", host log " + recorder.log().size() + " entries, " + events.size() + " guest requests, "
                + (checks[0] + checkEvery - 1) / checkEvery + " qemu-img checks; jblk check -r all " + result.repairs());
        assertTrue(result.states() > 20, "enumerated " + result.states());
        assertEquals(List.of(), result.failures(), SeededRandom.withSeed(scenario + ": crash states failed", seed));
        assertTrue(result.repairs().covered(result.states()),
                "jblk check -r all ran on dirty or leaky crash states and crashes during it were checked, or none of "
                        + result.states() + " states needed it: " + result.repairs());
        if (scenario.name().startsWith("L1 growth")) {
            assertTrue(l1Grew(recorder.log()), "the recorded I/O moves the L1 table (header bytes 36..47 written)");
        }
    }

    /**
     * Grown size of the L1-growth workload: 16 KiB clusters with extended L2 map 16 MiB per L2 table, so growing a
     * 1 MiB disk (one L1 entry) to 18 MiB needs a second L1 entry, and the driver moves L1 to a larger table.
     */
    static final long L1_GROWN_SIZE = 18 << 20;

    /**
     * A third of the requests as allocating 4 KiB writes inside the initial size, then a resize to {@code grownSize}
     * (the L1 table grows), then allocating 4 KiB writes half in the newly mapped L2 range beyond the first L2
     * table, half anywhere beyond the old size; a flush every ~4 requests and at the end.
     */
    static Workload l1Growth(int operations, long grownSize) {
        return (device, random) -> {
            long oldSize = device.size();
            int before = Math.max(2, operations / 3);
            for (int i = 0; i < before; i++) {
                Workload.write(device, random.nextLong(oldSize / 4096) * 4096, 4096, i + 1);
                if (random.nextInt(4) == 0) {
                    Workload.await(device.flush());
                }
            }
            Workload.resize(device, grownSize);
            long secondTable = 16 << 20;
            for (int i = before; i < operations; i++) {
                long from = random.nextBoolean() ? secondTable : oldSize;
                Workload.write(device, from + random.nextLong((grownSize - from) / 4096) * 4096, 4096, i + 1);
                if (random.nextInt(4) == 0) {
                    Workload.await(device.flush());
                }
            }
            Workload.await(device.flush());
        };
    }

    /** Whether the log has a write to the header's l1_size / l1_table_offset fields (a new L1 table went live). */
    static boolean l1Grew(HostOpLog log) {
        for (HostOpLog.Entry e : log.entries()) {
            if (e.op() instanceof HostOp.Write w && w.offset() <= 36 && w.offset() + w.data().length >= 48) {
                return true;
            }
        }
        return false;
    }

    /** 4 KiB writes at random 4 KiB-aligned offsets (mostly allocating), a flush every ~5. */
    static Workload allocating4k(int operations) {
        return (device, random) -> {
            long blocks = device.size() / 4096;
            for (int i = 0; i < operations; i++) {
                Workload.write(device, random.nextLong(blocks) * 4096, 4096, i + 1);
                if (random.nextInt(5) == 0) {
                    Workload.await(device.flush());
                }
            }
        };
    }

    /** Write-zeroes (with and without unmap) and discards at 2 KiB subcluster and 64 KiB cluster granularity. */
    static Workload zeroesAndDiscards(int operations) {
        return (device, random) -> {
            for (int i = 0; i < operations; i++) {
                boolean cluster = random.nextBoolean();
                long unit = cluster ? 65536 : 2048;
                long offset = random.nextLong(device.size() / unit) * unit;
                long length = unit * (1 + random.nextInt(cluster ? 2 : 4));
                length = Math.min(length, device.size() - offset);
                switch (random.nextInt(4)) {
                    case 0 -> Workload.await(device.writeZeroes(offset, length, false));
                    case 1 -> Workload.await(device.writeZeroes(offset, length, true));
                    case 2 -> Workload.await(device.discard(offset, length));
                    default -> Workload.write(device, offset, (int) length, i + 1);
                }
                if (random.nextInt(4) == 0) {
                    Workload.await(device.flush());
                }
            }
        };
    }

    /** 64 KiB writes marching through the disk: with 512-byte clusters and 64-bit refcounts the refcount table grows. */
    static Workload sequential64k(int operations) {
        return (device, random) -> {
            for (int i = 0; i < operations && (long) (i + 1) * 65536 <= device.size(); i++) {
                Workload.write(device, (long) i * 65536, 65536, i + 1);
                if (random.nextInt(6) == 0) {
                    Workload.await(device.flush());
                }
            }
        };
    }
}
