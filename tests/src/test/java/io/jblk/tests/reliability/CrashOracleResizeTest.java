package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.nativeio.HostFileOpener;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The oracle's model of a grown disk, on raw files whose content is set by hand: before the resize is acknowledged
 * the old size is allowed, after it only the new one; the grown area reads as zeros unless written.
 */
class CrashOracleResizeTest {
    static final int OLD = 4096;
    static final int NEW = 8192;

    /** t1-2 write 0x11 @0, t3-4 flush, t5-6 resize to 8 KiB, t7-8 write 0x22 @4608, t9-10 flush. */
    static final List<GuestEvent> EVENTS = List.of(
            new GuestEvent.Write(0, filled(512, 0x11), 1, 2),
            new GuestEvent.Flush(3, 4),
            new GuestEvent.Resize(NEW, 5, 6),
            new GuestEvent.Write(4608, filled(512, 0x22), 7, 8),
            new GuestEvent.Flush(9, 10));

    @TempDir
    Path dir;

    @Test
    void theOldSizeIsAllowedOnlyUntilTheResizeIsAcknowledged() throws IOException {
        Path old = disk("old.raw", OLD, false, -1);
        assertEquals(List.of(), violations(old, 6), "resize in progress: old size allowed");
        List<CrashOracle.Violation> after = violations(old, 7);
        assertEquals(1, after.size(), after.toString());
        assertTrue(after.get(0).reason().contains("size 4096"), after.toString());
    }

    @Test
    void theGrownAreaReadsAsZerosOrWhatWasWritten() throws IOException {
        assertEquals(List.of(), violations(disk("grown.raw", NEW, true, -1), 11));
        assertEquals(List.of(), violations(disk("grown-unwritten.raw", NEW, false, -1), 7),
                "the write beyond the old size is not yet durable");
        List<CrashOracle.Violation> lost = violations(disk("lost.raw", NEW, false, -1), 11);
        assertEquals(4608, lost.get(0).offset(), "the flushed write beyond the old size is missing: " + lost);
        List<CrashOracle.Violation> stale = violations(disk("stale.raw", NEW, true, 6144), 11);
        assertEquals(6144, stale.get(0).offset(), "grown space must read as zeros: " + stale);
    }

    private List<CrashOracle.Violation> violations(Path file, long crashTime) throws IOException {
        try (BlockDevice dev = RawUnderTest.RAW.open(file, HostFileOpener.DEFAULT, true)) {
            return new CrashOracle(new byte[OLD], EVENTS).expectationAt(crashTime).check(dev, 5);
        }
    }

    private Path disk(String name, int size, boolean secondWrite, int junkAt) throws IOException {
        byte[] content = new byte[size];
        Arrays.fill(content, 0, 512, (byte) 0x11);
        if (secondWrite) {
            Arrays.fill(content, 4608, 5120, (byte) 0x22);
        }
        if (junkAt >= 0) {
            Arrays.fill(content, junkAt, junkAt + 512, (byte) 0x77);
        }
        return Files.write(dir.resolve(name), content);
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }
}
