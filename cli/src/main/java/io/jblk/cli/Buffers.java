package io.jblk.cli;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/** Byte-range helpers over device buffers: zero tests and first differences, in 512-byte sectors like qemu-img. */
final class Buffers {
    static final int SECTOR = 512;

    private Buffers() {
    }

    /**
     * A 4 KiB-aligned native buffer, so any engine (O_DIRECT included) can use it without copying. Callers allocate
     * from shared arenas: drivers may touch request buffers on their own threads.
     */
    static MemorySegment allocate(Arena arena, long size) {
        return arena.allocate(Math.max(1, size), 4096);
    }

    static boolean isZero(MemorySegment s) {
        long n = s.byteSize();
        long i = 0;
        for (; i + 8 <= n; i += 8) {
            if (s.get(ValueLayout.JAVA_LONG_UNALIGNED, i) != 0) {
                return false;
            }
        }
        for (; i < n; i++) {
            if (s.get(ValueLayout.JAVA_BYTE, i) != 0) {
                return false;
            }
        }
        return true;
    }

    /** Offset of the first differing byte rounded down to a sector, or -1 when equal. */
    static long firstMismatchSector(MemorySegment a, MemorySegment b) {
        long at = a.mismatch(b);
        return at < 0 ? -1 : at - at % SECTOR;
    }

    /** Offset of the first non-zero byte rounded down to a sector, or -1 when all zero. */
    static long firstNonZeroSector(MemorySegment s) {
        for (long at = 0; at < s.byteSize(); at += SECTOR) {
            if (!isZero(s.asSlice(at, Math.min(SECTOR, s.byteSize() - at)))) {
                return at;
            }
        }
        return -1;
    }
}
