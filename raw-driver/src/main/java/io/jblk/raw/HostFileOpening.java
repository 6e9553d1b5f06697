package io.jblk.raw;

import io.jblk.api.CacheMode;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFileOptions;

/** Translates the API's open options into host-file options; the one place that maps one vocabulary to the other. */
public final class HostFileOpening {
    private HostFileOpening() {
    }

    public static HostFileOptions hostOptions(OpenOptions options) {
        HostFileOptions.Engine engine = switch (options.ioEngine()) {
            case AUTO -> HostFileOptions.Engine.AUTO;
            case IO_URING -> HostFileOptions.Engine.IO_URING;
            case THREADS -> HostFileOptions.Engine.THREADS;
        };
        boolean lock = Boolean.parseBoolean(options.formatOption("locking", "true"));
        return new HostFileOptions(options.readOnly(), options.cacheMode() == CacheMode.NONE, engine, false, lock);
    }
}
