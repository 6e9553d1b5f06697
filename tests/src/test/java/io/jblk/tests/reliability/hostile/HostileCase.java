package io.jblk.tests.reliability.hostile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * One hostile image: how to build it, what QEMU 7.2 does with it (checked by a test, so the mutation is known to
 * matter) and what jblk must do.
 *
 * @param name     short id, also the file name stem
 * @param keywords jblk's error message must mention one of these (compared lower-case, ignoring '_', '-', ' ')
 * @param qemu     QEMU's verdict, verified against qemu-img / qemu-io
 * @param jblk     what jblk must do
 * @param build    writes the image (and any files it refers to) into a folder; returns the image path
 */
public record HostileCase(String name, List<String> keywords, Qemu qemu, Jblk jblk, Builder build) {

    /** What QEMU does. */
    public enum Qemu {
        /** {@code qemu-img info -f qcow2} fails. */
        REFUSES_OPEN,
        /** Opens, but {@code qemu-io -r -c 'read 0 SIZE'} fails. */
        READ_FAILS,
        /** Opens and reads, and {@code qemu-img check} reports errors. */
        CHECK_REPORTS,
        /** Opens and reads without error, and {@code qemu-img check} finds nothing (the spec allows it). */
        TOLERATES,
        /** Read-only opens and reads work; read-write open is refused. */
        READ_WRITE_REFUSED,
        /** Not verified (a backing loop that QEMU's tools would follow). */
        NOT_RUN
    }

    /** What jblk must do. */
    public enum Jblk {
        /** Both read-only and read-write open fail with an ImageFormatException naming the field. */
        REFUSE_OPEN,
        /** Read-write open, or reading the whole disk, fails with an ImageFormatException naming the field. */
        FAIL_OPEN_OR_READ,
        /** Read-write open fails naming the field; read-only open and reads work. */
        REFUSE_READ_WRITE,
        /** Any outcome QEMU also allows: success, or a typed IOException; never an unchecked exception. */
        NO_CRASH
    }

    @FunctionalInterface
    public interface Builder {
        Path build(Path dir) throws IOException;
    }

    @Override
    public String toString() {
        return name;
    }
}
