package io.jblk.nativeio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Hand-written kernel layouts checked against the sizes and offsets in the uapi headers, and errno reporting. */
class LinuxAbiTest {
    @TempDir
    Path dir;

    @Test
    void structLayoutsMatchTheKernel() {
        assertEquals(256, Linux.STATX.byteSize());
        assertEquals(40, Linux.offsetOf(Linux.STATX, "stx_size"));
        assertEquals(48, Linux.offsetOf(Linux.STATX, "stx_blocks"));
        assertEquals(136, Linux.offsetOf(Linux.STATX, "stx_dev_major"));
        assertEquals(152, Linux.offsetOf(Linux.STATX, "stx_dio_mem_align"));
        assertEquals(156, Linux.offsetOf(Linux.STATX, "stx_dio_offset_align"));
        assertEquals(32, Linux.FLOCK.byteSize());
        assertEquals(8, Linux.offsetOf(Linux.FLOCK, "l_start"));
        assertEquals(24, Linux.offsetOf(Linux.FLOCK, "l_pid"));
        assertEquals(16, Linux.IOVEC.byteSize());
    }

    @Test
    void ioUringLayoutsMatchTheKernel() {
        assertEquals(120, IoUringAbi.PARAMS.byteSize());
        assertEquals(40, IoUringAbi.PARAMS_SQ_OFF);
        assertEquals(80, IoUringAbi.PARAMS_CQ_OFF);
        assertEquals(64, IoUringAbi.SQE.byteSize());
        assertEquals(16, IoUringAbi.CQE.byteSize());
        assertEquals(32, IoUringAbi.SQE_USER_DATA);
        assertEquals(28, IoUringAbi.SQE_RW_FLAGS);
        assertEquals(8, IoUringAbi.CQE_RES);
        assertEquals(40 + 20, IoUringAbi.sqOff("dropped"));
        assertEquals(40 + 24, IoUringAbi.sqOff("array"));
        assertEquals(80 + 20, IoUringAbi.cqOff("cqes"));
    }

    @Test
    void syscallErrorsNameCallPathAndErrno() {
        // Opening a directory for writing fails in the kernel with EISDIR.
        NativeIOException e = assertThrows(NativeIOException.class, () -> HostFile.open(dir,
                HostFileOptions.defaults().withEngine(HostFileOptions.Engine.THREADS)));
        assertEquals(21, e.errno());
        assertEquals("EISDIR", e.errnoName());
        assertEquals(dir, e.path());
        assertTrue(e.getMessage().contains("EISDIR") && e.getMessage().contains(dir.toString()), e.getMessage());
    }

    @Test
    void badDescriptorGivesNegativeErrno() {
        assertEquals(-9, Linux.fdatasync(-1));
        assertEquals("EBADF (Bad file descriptor)", Errno.describe(9));
        assertEquals("errno 4000", Errno.name(4000));
    }
}
