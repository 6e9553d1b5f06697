package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A system call on a host file failed. Carries the call, the file, the offset and length involved and the errno, so
 * callers can react to the cause (ENOSPC, EIO) and messages name everything needed to reproduce the failure.
 */
public final class NativeIOException extends IOException {
    private static final long serialVersionUID = 1L;

    private final String syscall;
    private final transient Path path;
    private final long offset;
    private final long length;
    private final int errno;

    public NativeIOException(String syscall, Path path, long offset, long length, int errno) {
        super(syscall + (length >= 0 ? " of " + length + " bytes" : "") + (offset >= 0 ? " at offset " + offset : "")
                + " on " + path + " failed: " + Errno.describe(errno));
        this.syscall = syscall;
        this.path = path;
        this.offset = offset;
        this.length = length;
        this.errno = errno;
    }

    /** The failed call, e.g. {@code pwrite} or {@code io_uring write}. */
    public String syscall() {
        return syscall;
    }

    public Path path() {
        return path;
    }

    /** The file offset involved, or -1 when the call has none. */
    public long offset() {
        return offset;
    }

    /** The byte count involved, or -1 when the call has none. */
    public long length() {
        return length;
    }

    /** The positive errno value. */
    public int errno() {
        return errno;
    }

    /** The symbolic errno name, e.g. {@code ENOSPC}. */
    public String errnoName() {
        return Errno.name(errno);
    }
}
