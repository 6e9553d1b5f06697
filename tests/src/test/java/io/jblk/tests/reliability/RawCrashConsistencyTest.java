package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.testing.SeededRandom;
import io.jblk.nativeio.HostFileOpener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crash harness validated on the raw driver, where the answer is known: a raw image's crash states are exactly
 * what the contract allows, so every state must pass — and a state that drops a flushed write must fail.
 */
class RawCrashConsistencyTest {

    @Test
    void everyCrashStateOfARawImageSatisfiesTheOracle(@TempDir Path dir) throws Exception {
        SplittableRandom random = SeededRandom.forTest("raw crash states");
        long seed = random.nextLong();
        Path image = RawUnderTest.create(dir.resolve("disk.raw"), 1 << 20);
        RecordingHostFileOpener recorder = new RecordingHostFileOpener();
        List<GuestEvent> events;
        try (JournalingBlockDevice dev = new JournalingBlockDevice(RawUnderTest.RAW.open(image, recorder, false),
                recorder.log())) {
            Workload.mixed(60, 16384, 6, true).run(dev, new SplittableRandom(seed));
            events = dev.events();
        }
        CrashCampaign.Result result = new CrashCampaign(recorder, image, new byte[1 << 20], events)
                .run(RawUnderTest.RAW, CrashStateEnumerator.Limits.fast(), random, dir.resolve("work"), null, 100_000);
        System.out.println("[crash] raw: " + result.states() + " states " + result.perKind());
        assertTrue(result.states() > 100, "enumerated " + result.states());
        assertTrue(result.perKind().containsKey(CrashState.Kind.REORDERED_TORN), "torn reorderings generated");
        assertEquals(List.of(), result.failures(), SeededRandom.withSeed("crash states failed", seed));
    }

    @Test
    void theOracleCatchesALostFlushedWriteAndStaleBytes(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("disk.raw"), 256 << 10);
        RecordingHostFileOpener recorder = new RecordingHostFileOpener();
        List<GuestEvent> events;
        try (JournalingBlockDevice dev = new JournalingBlockDevice(RawUnderTest.RAW.open(image, recorder, false),
                recorder.log())) {
            Workload.write(dev, 0, 4096, 1);
            Workload.await(dev.flush());
            Workload.write(dev, 8192, 4096, 2);
            events = dev.events();
        }
        List<HostOpLog.Entry> log = recorder.log().entries();
        CrashStateMaterializer materializer = new CrashStateMaterializer(recorder.baselines(), log);
        CrashOracle oracle = new CrashOracle(new byte[256 << 10], events);
        // Crash after everything but with the flushed write missing: a device that lost it.
        CrashState lost = new CrashState(log.size(), Long.MAX_VALUE, List.of(2), null, CrashState.Kind.REORDERED);
        assertFalse(check(materializer, oracle, lost, dir.resolve("lost")).isEmpty(), "lost flushed write detected");
        // The unflushed write landing at the wrong place (stale bytes elsewhere) is detected too.
        HostOp.Write w = (HostOp.Write) log.get(2).op();
        List<HostOpLog.Entry> moved = new java.util.ArrayList<>(log);
        moved.set(2, new HostOpLog.Entry(log.get(2).time(), new HostOp.Write(w.path(), 16384, w.data())));
        CrashState misplaced = new CrashState(log.size(), Long.MAX_VALUE, List.of(0, 2), null,
                CrashState.Kind.PREFIX);
        List<CrashOracle.Violation> v = check(new CrashStateMaterializer(recorder.baselines(), moved), oracle,
                misplaced, dir.resolve("moved"));
        assertEquals(8, v.size(), "all 8 sectors at 16384 hold bytes nobody wrote there: " + v);
        assertEquals(16384, v.getFirst().offset());
    }

    private static List<CrashOracle.Violation> check(CrashStateMaterializer materializer, CrashOracle oracle,
                                                     CrashState state, Path dir) throws Exception {
        Path file = materializer.materialize(state, dir).values().iterator().next();
        try (BlockDevice dev = RawUnderTest.RAW.open(file, HostFileOpener.DEFAULT, true)) {
            return oracle.expectationAt(state.crashTime()).check(dev, 100);
        }
    }
}
