package io.jblk.raw;

import io.jblk.api.CacheMode;
import io.jblk.api.IoEngineKind;
import io.jblk.api.OpenOptions;

/** The raw driver on the IO_URING host I/O engine, cache=none. */
class RawDeviceIoUringDirectConformanceTest extends RawDeviceConformanceTest {
    @Override
    protected OpenOptions.Builder openOptions() {
        return OpenOptions.builder().ioEngine(IoEngineKind.IO_URING).cacheMode(CacheMode.NONE);
    }
}
