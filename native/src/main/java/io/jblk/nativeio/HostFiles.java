package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Picks the engine for {@link HostFile#open}. AUTO takes io_uring, else the threads engine when io_uring is refused
 * (probe or per-file ring setup), else FileChannel when native access is denied; the reason for each step down is
 * kept on the file ({@link HostFile#engineFallbackCause()}). IO_URING and THREADS fail rather than step down.
 */
final class HostFiles {
    private HostFiles() {
    }

    static HostFile open(Path path, HostFileOptions options) throws IOException {
        return switch (options.engine()) {
            case FILECHANNEL -> ChannelHostFile.open(path, options, null);
            case THREADS -> {
                NativeAccess.require();
                yield ThreadsHostFile.open(path, options, null);
            }
            case IO_URING -> {
                String cause = IoUringSupport.unavailabilityCause();
                if (cause != null) {
                    throw new IOException("io_uring engine requested for " + path + " but unavailable: " + cause);
                }
                yield IoUringHostFile.open(path, options);
            }
            case AUTO -> openAuto(path, options);
        };
    }

    private static HostFile openAuto(Path path, HostFileOptions options) throws IOException {
        String noNative = NativeAccess.unavailabilityCause();
        if (noNative != null) {
            return ChannelHostFile.open(path, options, noNative);
        }
        String cause = IoUringSupport.unavailabilityCause();
        if (cause == null) {
            try {
                return IoUringHostFile.open(path, options);
            } catch (NativeIOException e) {
                if (!e.syscall().startsWith("io_uring") && !e.syscall().startsWith("mmap(io_uring")) {
                    throw e; // the file itself failed, not the ring
                }
                cause = e.getMessage();
            }
        }
        IoUringSupport.logFallbackOnce(cause);
        return ThreadsHostFile.open(path, options, cause);
    }
}
