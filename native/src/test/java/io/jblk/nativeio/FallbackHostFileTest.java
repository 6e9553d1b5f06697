package io.jblk.nativeio;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** The whole contract on the engine AUTO falls back to when io_uring is refused. */
class FallbackHostFileTest extends HostFileContractTest {
    @BeforeAll
    static void refuseIoUring() {
        System.setProperty(IoUringSupport.DISABLE_PROPERTY, "true");
    }

    @AfterAll
    static void allowIoUring() {
        System.clearProperty(IoUringSupport.DISABLE_PROPERTY);
    }

    @Override
    protected HostFileOptions options() {
        return HostFileOptions.defaults().withDirect(true);
    }

    @Override
    protected String expectedEngine() {
        return "threads";
    }

    @Test
    void recordsWhyIoUringWasNotUsed() throws IOException {
        try (HostFile f = HostFile.open(dir.resolve("cause"), options().withCreate(true))) {
            assertTrue(f.engineFallbackCause().contains(IoUringSupport.DISABLE_PROPERTY), f.engineFallbackCause());
        }
    }
}
