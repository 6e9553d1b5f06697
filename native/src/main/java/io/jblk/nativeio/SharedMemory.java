package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

/**
 * A {@code MAP_SHARED} mapping of memory another process handed over as a file descriptor (a vhost-user front-end's
 * guest RAM, an in-flight log): writes are seen by every process that maps the same file.
 *
 * <p>The segment belongs to a shared arena: {@link #close()} unmaps it, and a Java access racing with the close
 * fails with {@link IllegalStateException} instead of touching unmapped memory. Addresses handed to the kernel
 * (io_uring, pread) escape that check, so the owner must stop all I/O into the segment before closing it.
 *
 * <p>A file shorter than the mapped range is refused at map time (touching pages past its end would raise SIGBUS).
 * A process that shrinks the file afterwards could still cause one; QEMU's {@code memory-backend-memfd} seals its
 * memfds against shrinking by default.
 */
public final class SharedMemory implements AutoCloseable {
    /**
     * mmap offsets must be page-aligned; 64 KiB is a multiple of every Linux page size in use (4, 16, 64 KiB), so
     * aligning the file offset down to it is always accepted.
     */
    private static final long MAP_ALIGNMENT = 64 * 1024;
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int STATX_TYPE = 0x1;

    private final Arena arena;
    private final MemorySegment segment;

    private SharedMemory(Arena arena, MemorySegment segment) {
        this.arena = arena;
        this.segment = segment;
    }

    /**
     * Maps {@code [offset, offset + length)} of {@code fd} shared, readable and writable (or read-only). The
     * descriptor is not consumed: the mapping stays valid after it is closed.
     */
    public static SharedMemory map(NativeFd fd, long offset, long length, boolean writable) throws IOException {
        NativeAccess.require();
        if (offset < 0 || length <= 0 || offset + length < offset) {
            throw new IllegalArgumentException("bad mapping range: offset " + offset + ", length " + length + " of "
                    + fd.description());
        }
        Path what = Path.of(fd.description());
        checkFileSize(fd, offset, length, what);
        long start = offset & -MAP_ALIGNMENT;
        long mapLength = offset - start + length;
        int prot = Linux.PROT_READ | (writable ? Linux.PROT_WRITE : 0);
        long address = Linux.mmap(mapLength, prot, Linux.MAP_SHARED | LinuxIpc.MAP_NORESERVE, fd.value(), start);
        if (address < 0) {
            throw new NativeIOException("mmap(MAP_SHARED)", what, start, mapLength, (int) -address);
        }
        Arena arena = Arena.ofShared();
        MemorySegment whole = reinterpret(address, mapLength, arena);
        return new SharedMemory(arena, whole.asSlice(offset - start, length));
    }

    @SuppressWarnings("restricted")
    private static MemorySegment reinterpret(long address, long length, Arena arena) {
        return MemorySegment.ofAddress(address).reinterpret(length, arena, ignored -> Linux.munmap(address, length));
    }

    private static void checkFileSize(NativeFd fd, long offset, long length, Path what) throws IOException {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment buf = a.allocate(Linux.STATX);
            int r = Linux.fstatx(fd.value(), STATX_TYPE | Linux.STATX_SIZE, buf);
            if (r < 0) {
                throw new NativeIOException("statx", what, -1, -1, -r);
            }
            int mode = Short.toUnsignedInt(buf.get(ValueLayout.JAVA_SHORT, Linux.offsetOf(Linux.STATX, "stx_mode")));
            long size = buf.get(ValueLayout.JAVA_LONG, Linux.offsetOf(Linux.STATX, "stx_size"));
            if ((mode & S_IFMT) == S_IFREG && offset + length > size) {
                throw new IOException(what + " is " + size + " bytes long, too short to map " + length
                        + " bytes at offset " + offset);
            }
        }
    }

    /** The mapped range; unusable after {@link #close()}. */
    public MemorySegment segment() {
        return segment;
    }

    /** Unmaps. Must not be called while I/O into the segment is in flight. */
    @Override
    public void close() {
        arena.close();
    }
}
