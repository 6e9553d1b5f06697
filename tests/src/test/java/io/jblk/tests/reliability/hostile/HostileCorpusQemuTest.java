package io.jblk.tests.reliability.hostile;

import io.jblk.api.testing.ExternalTool;
import io.jblk.tests.reliability.QemuImgCheck;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each hostile image is hostile to QEMU too, in the way the corpus says: so every mutation hits the field it claims
 * (a typo in an offset would otherwise give a valid image and a vacuous jblk test).
 */
class HostileCorpusQemuTest {

    static List<HostileCase> cases() {
        return HostileCorpus.cases();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void qemuAgreesTheImageIsHostile(HostileCase hostile, @TempDir Path dir) throws Exception {
        assumeTrue(hostile.qemu() != HostileCase.Qemu.NOT_RUN, "QEMU would follow the backing loop");
        Path image = hostile.build().build(dir);
        String file = image.toString();
        switch (hostile.qemu()) {
            case REFUSES_OPEN -> {
                ExternalTool.Result info = ExternalTool.qemuImg("info", "-f", "qcow2", file);
                assertNotEquals(0, info.exitCode(), "qemu-img info accepted it:\n" + info.stdout());
            }
            case READ_FAILS -> {
                ExternalTool.qemuImg("info", "-f", "qcow2", file).ok();
                ExternalTool.Result read = ExternalTool.qemuIo("-f", "qcow2", "-r", "-c", "read 0 1M", file);
                assertTrue(read.exitCode() != 0 || read.stdout().contains("failed") || read.stderr().contains("failed"),
                        "qemu-io read worked:\n" + read.stdout() + read.stderr());
            }
            case CHECK_REPORTS -> {
                ExternalTool.qemuImg("info", "-f", "qcow2", file).ok();
                ExternalTool.Result check = ExternalTool.qemuImg("check", "-f", "qcow2", file);
                assertTrue(check.exitCode() == 2 || check.exitCode() == 3 || check.exitCode() == 1,
                        "qemu-img check found nothing: " + check.exitCode() + "\n" + check.stdout() + check.stderr());
            }
            case TOLERATES -> {
                ExternalTool.qemuIo("-f", "qcow2", "-r", "-c", "read 0 1M", file).ok();
                assertTrue(QemuImgCheck.run(image, null).clean(), "check is clean");
            }
            case READ_WRITE_REFUSED -> {
                ExternalTool.qemuIo("-f", "qcow2", "-r", "-c", "read 0 64k", file).ok();
                ExternalTool.Result rw = ExternalTool.qemuIo("-f", "qcow2", "-c", "read 0 64k", file);
                assertTrue(rw.exitCode() != 0 || (rw.stdout() + rw.stderr()).contains("corrupt"),
                        "read-write open accepted:\n" + rw.stdout() + rw.stderr());
                assertTrue(QemuImgCheck.run(image, null).clean(), "nothing but the bit is wrong");
            }
            case NOT_RUN -> throw new IllegalStateException();
        }
    }
}
