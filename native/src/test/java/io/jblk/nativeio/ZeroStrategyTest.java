package io.jblk.nativeio;

import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each step of the zeroing chain (ZERO_RANGE, PUNCH_HOLE, writing zeros) on its own, on both native engines with and
 * without O_DIRECT, and the real fallback on tmpfs, which refuses FALLOC_FL_ZERO_RANGE.
 */
class ZeroStrategyTest {
    @TempDir
    Path dir;

    static Stream<Arguments> cases() {
        return Stream.of(HostFileOptions.Engine.IO_URING, HostFileOptions.Engine.THREADS).flatMap(engine ->
                Stream.of(false, true).flatMap(direct -> Arrays.stream(NativeHostFile.ZeroStrategy.values())
                        .map(strategy -> Arguments.of(engine, direct, strategy))));
    }

    @ParameterizedTest(name = "{0} direct={1} from {2}")
    @MethodSource("cases")
    void everyStrategyZeroesExactlyTheRange(HostFileOptions.Engine engine, boolean direct,
                                            NativeHostFile.ZeroStrategy strategy) throws Exception {
        assumeTrue(engine != HostFileOptions.Engine.IO_URING || IoUringSupport.isAvailable());
        zeroAndCheck(dir.resolve("z"), engine, direct, strategy);
    }

    @ParameterizedTest(name = "{0} direct={1}")
    @MethodSource("tmpfsCases")
    void tmpfsFallsBackFromZeroRange(HostFileOptions.Engine engine, boolean direct) throws Exception {
        Path shm = Path.of("/dev/shm");
        assumeTrue(Files.isDirectory(shm) && Files.isWritable(shm), "no writable /dev/shm");
        assumeTrue(engine != HostFileOptions.Engine.IO_URING || IoUringSupport.isAvailable());
        Path tmp = Files.createTempDirectory(shm, "jblk-zero");
        try {
            NativeHostFile.ZeroStrategy used = zeroAndCheck(tmp.resolve("z"), engine, direct, NativeHostFile.ZeroStrategy.ZERO_RANGE);
            System.out.println("tmpfs zeroing strategy: " + used);
            assertNotEquals(NativeHostFile.ZeroStrategy.ZERO_RANGE, used,
                    "tmpfs accepted FALLOC_FL_ZERO_RANGE: the fallback was not exercised on this kernel");
        } finally {
            try (Stream<Path> all = Files.walk(tmp)) {
                for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }

    static Stream<Arguments> tmpfsCases() {
        return Stream.of(HostFileOptions.Engine.IO_URING, HostFileOptions.Engine.THREADS).flatMap(engine ->
                Stream.of(Arguments.of(engine, false), Arguments.of(engine, true)));
    }

    private static NativeHostFile.ZeroStrategy zeroAndCheck(Path path, HostFileOptions.Engine engine, boolean direct,
                                                           NativeHostFile.ZeroStrategy first) throws Exception {
        byte[] data = new byte[300_000];
        SeededRandom.forTest("zero-" + engine + direct + first).nextBytes(data);
        try (HostFile f = HostFile.open(path, HostFileOptions.defaults().withEngine(engine).withDirect(direct).withCreate(true));
             Arena arena = Arena.ofConfined()) {
            NativeHostFile nf = (NativeHostFile) f;
            nf.skipZeroStrategiesBefore(first);
            f.write(0, MemorySegment.ofArray(data)).get(60, TimeUnit.SECONDS);
            f.zeroRange(1001, 150_000).get(60, TimeUnit.SECONDS);       // unaligned, inside
            f.zeroRange(290_001, 20_000).get(60, TimeUnit.SECONDS);     // unaligned, past the end
            f.punchHole(200_000, 8192).get(60, TimeUnit.SECONDS);       // aligned hole inside
            byte[] expected = Arrays.copyOf(data, 310_001);
            Arrays.fill(expected, 1001, 151_001, (byte) 0);
            Arrays.fill(expected, 290_001, 310_001, (byte) 0);
            Arrays.fill(expected, 200_000, 208_192, (byte) 0);
            assertEquals(310_001, f.size());
            MemorySegment back = arena.allocate(expected.length + 100);
            back.fill((byte) 1);
            f.read(0, back).get(60, TimeUnit.SECONDS);
            assertArrayEquals(expected, back.asSlice(0, expected.length).toArray(ValueLayout.JAVA_BYTE));
            assertArrayEquals(new byte[100], back.asSlice(expected.length).toArray(ValueLayout.JAVA_BYTE));
            return nf.zeroStrategy();
        }
    }
}
