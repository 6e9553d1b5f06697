package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordingHostFileTest {

    @Test
    void logsOperationsInCompletionOrderWithFlushCoverage(@TempDir Path dir) throws Exception {
        Path image = RawUnderTest.create(dir.resolve("disk.raw"), 1 << 20);
        Files.write(image, new byte[] {7}, java.nio.file.StandardOpenOption.WRITE);
        RecordingHostFileOpener recorder = new RecordingHostFileOpener();
        try (BlockDevice dev = RawUnderTest.RAW.open(image, recorder, false)) {
            Workload.write(dev, 4096, 8192, 1);
            Workload.await(dev.flush());
            Workload.write(dev, 0, 512, 2);
            Workload.await(dev.writeZeroes(65536, 4096, false));
            Workload.await(dev.discard(131072, 4096));
        }
        List<HostOpLog.Entry> log = recorder.log().entries();
        HostOp.Write first = assertInstanceOf(HostOp.Write.class, log.get(0).op());
        assertEquals(4096, first.offset());
        assertEquals(8192, first.data().length);
        HostOp.Flush flush = assertInstanceOf(HostOp.Flush.class, log.get(1).op());
        assertTrue(log.get(0).time() < flush.issuedAt(), "the first write completed before the flush was issued");
        HostOp.Write second = assertInstanceOf(HostOp.Write.class, log.get(2).op());
        assertTrue(log.get(2).time() > flush.issuedAt(), "the second write is not covered by the flush");
        assertEquals(0, second.offset());
        assertInstanceOf(HostOp.ZeroRange.class, log.get(3).op());
        assertInstanceOf(HostOp.PunchHole.class, log.get(4).op());
        assertInstanceOf(HostOp.Flush.class, log.get(5).op(), "close flushes");
        for (int i = 1; i < log.size(); i++) {
            assertTrue(log.get(i).time() > log.get(i - 1).time(), "times follow completion order");
        }
        assertEquals(7, recorder.baselines().get(image.toAbsolutePath()).read(0, 1)[0], "baseline is pre-open content");
        assertEquals(0, recorder.baselines().get(image.toAbsolutePath()).read(4096, 1)[0], "baseline predates writes");
        // The recorded data is a copy of what was written: replaying the log over the baseline gives the file.
        CrashStateEnumerator all = new CrashStateEnumerator(log, CrashStateEnumerator.Limits.fast(),
                new java.util.SplittableRandom(1));
        CrashState end = all.all().stream().filter(s -> s.kind() == CrashState.Kind.PREFIX
                && s.crashPoint() == log.size()).findFirst().orElseThrow();
        SparseBytes replayed = new CrashStateMaterializer(recorder.baselines(), log).contents(end)
                .get(image.toAbsolutePath());
        assertArrayEquals(Files.readAllBytes(image), replayed.read(0, (int) Files.size(image)));
    }

    @Test
    void sparseMaterialisationKeepsHoles(@TempDir Path dir) throws Exception {
        SparseBytes bytes = new SparseBytes();
        bytes.write(10 << 20, new byte[] {1, 2, 3}, 0, 3);
        bytes.zero(0, 4096, true);
        Path out = dir.resolve("sparse");
        bytes.writeTo(out);
        assertEquals((10 << 20) + 3, Files.size(out));
        // st_blocks, which pure Java cannot see: ask du.
        var du = io.jblk.api.testing.ExternalTool.run("du", "--block-size=1", out.toString()).ok();
        long allocated = Long.parseLong(du.stdout().split("\\s+")[0]);
        assertTrue(allocated < (1 << 20), "the 10 MiB gap is a hole, got " + allocated + " bytes allocated");
        assertArrayEquals(new byte[] {0, 1, 2, 3, 0}, bytes.read((10 << 20) - 1, 5));
    }
}
