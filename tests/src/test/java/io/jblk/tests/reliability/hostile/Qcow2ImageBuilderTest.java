package io.jblk.tests.reliability.hostile;

import io.jblk.api.testing.ExternalTool;
import io.jblk.tests.reliability.QemuImgCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Proves the generator against QEMU: its valid images check clean and read back their patterns in qemu-io. */
class Qcow2ImageBuilderTest {

    static Stream<Arguments> geometries() {
        return Stream.of(
                Arguments.of("64K", new Qcow2ImageBuilder()),
                Arguments.of("64K extended L2", new Qcow2ImageBuilder().extendedL2(true)),
                Arguments.of("4K", new Qcow2ImageBuilder().clusterBits(12).dataClusters(3)),
                Arguments.of("512B", new Qcow2ImageBuilder().clusterBits(9).size(64 << 10).dataClusters(4)),
                Arguments.of("16K extended L2", new Qcow2ImageBuilder().clusterBits(14).extendedL2(true)),
                Arguments.of("2M", new Qcow2ImageBuilder().clusterBits(21).size(8 << 20).dataClusters(1)),
                Arguments.of("compressed", new Qcow2ImageBuilder().compressedClusters(2)),
                Arguments.of("compressed extended L2", new Qcow2ImageBuilder().extendedL2(true).compressedClusters(1)),
                Arguments.of("snapshot", new Qcow2ImageBuilder().snapshot(true).compressedClusters(1)),
                Arguments.of("backing", new Qcow2ImageBuilder().backing("base.raw", "raw").dataClusters(1)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("geometries")
    void validImagesCheckCleanAndReadBack(String name, Qcow2ImageBuilder builder, @TempDir Path dir) throws Exception {
        Qcow2Image image = builder.build();
        Path base = dir.resolve("base.raw");
        Files.write(base, new byte[(int) Math.min(image.guest().length, 1 << 20)]);
        Path file = image.writeTo(dir.resolve("img.qcow2"));
        QemuImgCheck.Report report = QemuImgCheck.run(file, null);
        assertTrue(report.clean(), report.transcript());
        int c = image.clusterSize();
        int clusters = image.dataOffsets().size() + image.compressedOffsets().size();
        for (int i = 0; i < clusters; i++) {
            ExternalTool.qemuIo("-f", "qcow2", "-r", "-c",
                    String.format("read -P 0x%02x %d %d", Qcow2ImageBuilder.pattern(i), (long) i * c, c),
                    file.toString()).ok();
        }
        long rest = image.guest().length - (long) clusters * c;
        ExternalTool.Result tail = ExternalTool.qemuIo("-f", "qcow2", "-r", "-c",
                "read -P 0 " + (long) clusters * c + " " + rest, file.toString()).ok();
        assertTrue(!tail.stdout().contains("failed") && !tail.stdout().contains("mismatch"), tail.stdout());
    }

    @Test
    void checkReportsALeakAndACorruptionTheGeneratorPlants(@TempDir Path dir) throws Exception {
        Qcow2Image image = new Qcow2ImageBuilder().build();
        // one more cluster at the end of the file, counted but never referenced (check only looks inside the file)
        byte[] leak = java.util.Arrays.copyOf(image.bytes(), image.bytes().length + image.clusterSize());
        long unusedCluster = image.bytes().length / image.clusterSize();
        Bytes.put(leak, image.refBlockOffset() + 2 * unusedCluster, 2, 1); // refcount for a cluster nobody uses
        QemuImgCheck.Report leaked = QemuImgCheck.run(write(dir.resolve("leak.qcow2"), leak), null);
        assertEquals(3, leaked.exitCode(), leaked.transcript());
        assertEquals(1, leaked.leaks(), leaked.transcript());
        assertEquals(0, leaked.corruptions(), leaked.transcript());

        byte[] corrupt = image.copyBytes();
        long dataCluster = image.dataOffsets().getFirst() / image.clusterSize();
        Bytes.put(corrupt, image.refBlockOffset() + 2 * dataCluster, 2, 0); // a used cluster with refcount 0
        QemuImgCheck.Report corrupted = QemuImgCheck.run(write(dir.resolve("corrupt.qcow2"), corrupt), null);
        assertEquals(2, corrupted.exitCode(), corrupted.transcript());
        assertTrue(corrupted.corruptions() >= 1, corrupted.transcript());

        QemuImgCheck.Report repaired = QemuImgCheck.run(dir.resolve("leak.qcow2"), "leaks");
        assertEquals(1, repaired.leaksFixed(), repaired.transcript());
        assertTrue(QemuImgCheck.run(dir.resolve("leak.qcow2"), null).clean());
    }

    private static Path write(Path path, byte[] bytes) throws Exception {
        Files.write(path, bytes);
        return path;
    }
}
