package io.jblk.tests.reliability.fuzz;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Jazzer fuzz tests. In a normal build they replay the committed corpus under
 * {@code src/test/resources/io/jblk/tests/reliability/fuzz/Qcow2FuzzTestInputs/}; to fuzz one target for a while:
 * <pre>
 * JAZZER_FUZZ=1 JAZZER_INSTRUMENTATION_INCLUDES='io.jblk.**' JAZZER_MAX_DURATION=10m \
 *     mvn -B -pl tests -am verify -Dtest='Qcow2FuzzTest#openImage'
 * </pre>
 * Without the includes Jazzer instruments only this test's package and gets no coverage from the driver. New
 * crashing inputs land next to the corpus and become regression inputs once committed; the growing corpus goes to
 * {@code tests/.cifuzz-corpus/} (ignored).
 */
class Qcow2FuzzTest {
    private static final Path DIR;

    static {
        try {
            DIR = Files.createTempDirectory("jblk-fuzz");
            DIR.toFile().deleteOnExit();
        } catch (IOException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    @FuzzTest(maxDuration = "60s")
    void parseHeader(FuzzedDataProvider data) {
        long fileSize = data.consumeLong(0, 1L << 40);
        FuzzTargets.parseHeader(data.consumeRemainingAsBytes(), fileSize);
    }

    @FuzzTest(maxDuration = "60s")
    void classifyL2Entry(long word, long bitmap, int index, boolean extendedL2) {
        FuzzTargets.classify(word, bitmap, index, extendedL2);
    }

    @FuzzTest(maxDuration = "60s")
    void openImage(FuzzedDataProvider data) throws IOException {
        int base = data.consumeInt(0, FuzzTargets.BASES.size() - 1);
        int edits = data.consumeInt(0, 16);
        int[] offsets = new int[edits];
        byte[] values = new byte[edits];
        for (int i = 0; i < edits; i++) {
            offsets[i] = data.consumeInt();
            values[i] = data.consumeByte();
        }
        FuzzTargets.openMutatedImage(base, offsets, values, DIR);
    }
}
