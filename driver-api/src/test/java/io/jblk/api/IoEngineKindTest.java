package io.jblk.api;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Engine names mean the same thing wherever they are given, QEMU's aio names included. */
class IoEngineKindTest {
    @Test
    void nativeIsTheKernelAsynchronousEngine() {
        // QEMU's aio=native is Linux AIO, the kernel's own asynchronous I/O: jblk's equivalent is io_uring
        assertEquals(IoEngineKind.IO_URING, IoEngineKind.parse("native"));
        assertEquals(IoEngineKind.IO_URING, IoEngineKind.parse("io_uring"));
        assertEquals(IoEngineKind.THREADS, IoEngineKind.parse("threads"));
        assertEquals(IoEngineKind.AUTO, IoEngineKind.parse("auto"));
    }

    @Test
    void unknownNamesAreRefusedListingTheKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> IoEngineKind.parse("posix"));
        assertTrue(e.getMessage().contains("posix") && e.getMessage().contains("native"), e.getMessage());
    }
}
