package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Picks the engine for {@link HostFile#open}: FILECHANNEL on request, THREADS on request, and for AUTO the fastest
 * engine that native access permits. Why a faster engine was skipped is kept on the file
 * ({@link HostFile#engineFallbackCause()}).
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
            case IO_URING, AUTO -> {
                String cause = NativeAccess.unavailabilityCause();
                yield cause == null ? ThreadsHostFile.open(path, options, "io_uring engine not built yet")
                        : ChannelHostFile.open(path, options, cause);
            }
        };
    }
}
