package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Picks the engine for {@link HostFile#open}. Until the native engines are wired in, every file is served by the
 * pure-Java FileChannel engine.
 */
final class HostFiles {
    private HostFiles() {
    }

    static HostFile open(Path path, HostFileOptions options) throws IOException {
        return ChannelHostFile.open(path, options, options.engine() == HostFileOptions.Engine.FILECHANNEL
                ? null : "native engines not built yet");
    }
}
