package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.testing.SeededRandom;
import io.jblk.nativeio.HostFileOpener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fault injector against the raw driver: each programmed failure reaches the guest request as an IOException. */
class FaultyHostFileTest {

    private static BlockDevice open(Path image, FaultPlan plan) throws IOException {
        return RawUnderTest.RAW.open(image, FaultyHostFile.opener(HostFileOpener.DEFAULT, plan), false);
    }

    @Test
    void eioOnTheSecondWriteFailsThatRequestOnly(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("d.raw"), 1 << 20);
        FaultPlan plan = new FaultPlan().failNth(FaultPlan.Kind.WRITE, 2, FaultPlan.Errno.EIO);
        try (BlockDevice dev = open(image, plan)) {
            Workload.write(dev, 0, 4096, 1);
            InjectedFault fault = assertThrows(InjectedFault.class, () -> Workload.write(dev, 4096, 4096, 2));
            assertEquals(FaultPlan.Errno.EIO, fault.errno());
            Workload.write(dev, 8192, 4096, 3);
        }
        assertEquals(1, plan.fired().size(), plan.fired().toString());
        assertEquals(0, Files.readAllBytes(image)[4096 + 8], "the failed write did not reach the file");
    }

    @Test
    void shortWriteLandsHalfAndFails(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("d.raw"), 1 << 20);
        FaultPlan plan = new FaultPlan().add(new FaultPlan.Rule(FaultPlan.Kind.WRITE, 1, FaultPlan.Errno.ENOSPC,
                FaultPlan.Effect.SHORT_WRITE, null));
        try (BlockDevice dev = open(image, plan)) {
            InjectedFault fault = assertThrows(InjectedFault.class, () -> Workload.write(dev, 0, 8192, 1));
            assertEquals(FaultPlan.Errno.ENOSPC, fault.errno());
            assertTrue(fault.getMessage().contains("No space left on device"), fault.getMessage());
        }
        byte[] bytes = Files.readAllBytes(image);
        assertTrue(bytes[8] != 0, "first half written");
        assertEquals(0, bytes[4096 + 8], "second half not written");
    }

    @Test
    void stickyFdatasyncFailureKeepsFailingUntilCleared(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("d.raw"), 1 << 20);
        FaultPlan plan = new FaultPlan().add(new FaultPlan.Rule(FaultPlan.Kind.FLUSH, 1, FaultPlan.Errno.EIO,
                FaultPlan.Effect.STICKY, null));
        try (BlockDevice dev = open(image, plan)) {
            Workload.write(dev, 0, 4096, 1);
            assertThrows(InjectedFault.class, () -> Workload.await(dev.flush()));
            assertThrows(InjectedFault.class, () -> Workload.await(dev.flush()), "no later flush may claim durability");
            plan.clear();
            Workload.await(dev.flush());
        }
    }

    @Test
    void readAndZeroFailuresSurface(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("d.raw"), 1 << 20);
        FaultPlan plan = new FaultPlan().failNth(FaultPlan.Kind.READ, 1, FaultPlan.Errno.EIO)
                .failNth(FaultPlan.Kind.ZERO, 1, FaultPlan.Errno.ENOSPC);
        try (BlockDevice dev = open(image, plan); Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(4096);
            assertThrows(InjectedFault.class, () -> Workload.await(dev.read(0, buf)));
            Workload.await(dev.read(0, buf));
            InjectedFault f = assertThrows(InjectedFault.class, () -> Workload.await(dev.writeZeroes(0, 4096, false)));
            assertEquals(FaultPlan.Errno.ENOSPC, f.errno());
        }
    }

    @Test
    void sweepingEveryWriteOfAWorkloadNeverLosesFlushedData(@TempDir Path dir) throws Exception {
        long seed = SeededRandom.forTest("raw fault sweep").nextLong();
        Path pristine = RawUnderTest.create(dir.resolve("pristine.raw"), 512 << 10);
        FaultSweep sweep = new FaultSweep(RawUnderTest.RAW, Workload.mixed(30, 16384, 4, false), seed);
        long writes = sweep.countOps(pristine, dir, FaultPlan.Kind.WRITE);
        assertTrue(writes >= 20, "workload issues " + writes + " writes");
        for (FaultPlan.Effect effect : List.of(FaultPlan.Effect.FAIL, FaultPlan.Effect.SHORT_WRITE)) {
            List<FaultSweep.Outcome> outcomes = sweep.sweep(pristine, dir, writes,
                    k -> new FaultPlan.Rule(FaultPlan.Kind.WRITE, k, FaultPlan.Errno.EIO, effect, null), null);
            for (FaultSweep.Outcome o : outcomes) {
                assertEquals(null, o.problem(), SeededRandom.withSeed("write #" + o.k() + " " + effect, seed));
                assertNotNull(o.surfaced(), "write #" + o.k() + " failed silently: " + o.fired());
                assertTrue(o.surfaced().contains("injected"), o.surfaced());
            }
        }
        long flushes = sweep.countOps(pristine, dir, FaultPlan.Kind.FLUSH);
        for (FaultSweep.Outcome o : sweep.sweep(pristine, dir, flushes,
                k -> new FaultPlan.Rule(FaultPlan.Kind.FLUSH, k, FaultPlan.Errno.EIO, FaultPlan.Effect.STICKY, null),
                null)) {
            assertEquals(null, o.problem(), SeededRandom.withSeed("flush #" + o.k(), seed));
            assertNotNull(o.surfaced(), "flush #" + o.k() + " failure surfaced: " + o);
        }
    }
}
