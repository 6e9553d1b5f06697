package io.jblk.nativeio;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Which engine {@link HostFile#open} picks, and what it records when it has to step down. */
class EngineSelectionTest {
    @TempDir
    Path dir;

    @AfterEach
    void enableIoUringAgain() {
        System.clearProperty(IoUringSupport.DISABLE_PROPERTY);
    }

    private HostFile open(HostFileOptions.Engine engine) throws IOException {
        return HostFile.open(dir.resolve("f"), HostFileOptions.defaults().withCreate(true).withEngine(engine));
    }

    @Test
    void autoPrefersIoUring() throws IOException {
        assumeTrue(IoUringSupport.isAvailable(), "io_uring unavailable here: " + IoUringSupport.unavailabilityCause());
        try (HostFile f = open(HostFileOptions.Engine.AUTO)) {
            assertEquals("io_uring", f.engineName());
            assertNull(f.engineFallbackCause());
        }
    }

    @Test
    void autoFallsBackToThreadsWithTheCauseWhenIoUringIsRefused() throws IOException {
        System.setProperty(IoUringSupport.DISABLE_PROPERTY, "true");
        assertTrue(IoUringSupport.unavailabilityCause().contains(IoUringSupport.DISABLE_PROPERTY));
        try (HostFile f = open(HostFileOptions.Engine.AUTO)) {
            assertEquals("threads", f.engineName());
            assertTrue(f.engineFallbackCause().contains(IoUringSupport.DISABLE_PROPERTY), f.engineFallbackCause());
        }
    }

    @Test
    void explicitIoUringFailsRatherThanStepDown() {
        System.setProperty(IoUringSupport.DISABLE_PROPERTY, "true");
        IOException e = assertThrows(IOException.class, () -> open(HostFileOptions.Engine.IO_URING));
        assertTrue(e.getMessage().contains("unavailable") && e.getMessage().contains(dir.resolve("f").toString()), e.getMessage());
    }

    @Test
    void explicitEnginesAreHonoured() throws IOException {
        try (HostFile f = open(HostFileOptions.Engine.THREADS)) {
            assertEquals("threads", f.engineName());
            assertNull(f.engineFallbackCause());
        }
        try (HostFile f = open(HostFileOptions.Engine.FILECHANNEL)) {
            assertEquals("filechannel", f.engineName());
            assertNull(f.engineFallbackCause());
        }
    }

    @Test
    void aMissingFileIsAFileErrorNotAFallback() {
        Path missing = dir.resolve("missing");
        assertThrows(java.nio.file.NoSuchFileException.class,
                () -> HostFile.open(missing, HostFileOptions.defaults()));
    }
}
