package io.jblk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * "native" names the same engine in every command: io_uring, jblk's kernel-asynchronous engine (QEMU's native is
 * Linux AIO). {@code bench --json} reports the engine the image was opened with.
 */
class EngineNamesTest {
    @TempDir
    Path dir;

    private String engine(String image, String... flags) {
        String[] args = new String[flags.length + 7];
        args[0] = "bench";
        System.arraycopy(flags, 0, args, 1, flags.length);
        System.arraycopy(new String[] {"-c", "1", "--warmup", "0", "--json", image}, 0, args, flags.length + 1, 6);
        Cli.Result r = Cli.jblk(args);
        assumeTrue(r.exitCode() == 0 || !r.stderr().contains("io_uring"), "io_uring unavailable: " + r.stderr());
        r.expect(0);
        return (String) ((Map<?, ?>) Cli.parse(r.stdout())).get("io-engine");
    }

    @Test
    void nativeMeansIoUringInBenchAsInServe() {
        String image = dir.resolve("e.raw").toString();
        Cli.jblk("create", "-f", "raw", image, "1M").expect(0);
        assumeTrue(engine(image, "-i", "io_uring").equals("io_uring"), "io_uring is not available here");
        assertEquals("io_uring", engine(image, "-i", "native"));
        assertEquals("io_uring", engine(image, "-n"));
        assertEquals("threads", engine(image, "-i", "threads"));
    }
}
