package io.jblk.raw;

import io.jblk.api.CacheMode;
import io.jblk.api.IoEngineKind;
import io.jblk.api.OpenOptions;

/** The raw driver on the THREADS host I/O engine, cache=none. */
class RawDeviceThreadsDirectConformanceTest extends RawDeviceConformanceTest {
    @Override
    protected OpenOptions.Builder openOptions() {
        return OpenOptions.builder().ioEngine(IoEngineKind.THREADS).cacheMode(CacheMode.NONE);
    }
}
