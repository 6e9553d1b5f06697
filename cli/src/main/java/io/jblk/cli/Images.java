package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CacheMode;
import io.jblk.api.IoEngineKind;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Opens images for the subcommands, turning failures into qemu-img's "Could not open" wording. */
final class Images {
    private Images() {
    }

    static BlockDevice open(Path file, String format, boolean readOnly) {
        return open(file, format, OpenOptions.builder().readOnly(readOnly).build());
    }

    static BlockDevice open(Path file, String format, boolean readOnly, String cache, String engine) {
        OpenOptions.Builder options = OpenOptions.builder().readOnly(readOnly);
        try {
            if (cache != null) {
                options.cacheMode(CacheMode.parse(cache));
            }
            if (engine != null) {
                options.ioEngine(IoEngineKind.parse(engine));
            }
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage());
        }
        return open(file, format, options.build());
    }

    static BlockDevice open(Path file, String format, OpenOptions options) {
        if (!Files.exists(file)) {
            throw new CliException("Could not open '" + file + "': No such file or directory");
        }
        try {
            return BlockDrivers.open(file, format, options);
        } catch (NoSuchFileException e) {
            throw new CliException("Could not open '" + file + "': No such file or directory: " + e.getFile());
        } catch (IOException | RuntimeException e) {
            throw new CliException("Could not open '" + file + "': " + describe(e));
        }
    }

    /** Bytes the file occupies on the host (st_blocks × 512), qemu-img's {@code actual-size}. */
    static long actualSize(Path file) {
        HostFileOptions options = HostFileOptions.defaults().withReadOnly(true).withLock(false)
                .withEngine(HostFileOptions.Engine.THREADS);
        try (HostFile host = HostFile.open(file, options)) {
            return host.allocatedBytes();
        } catch (IOException e) {
            throw new CliException("Could not stat '" + file + "': " + describe(e));
        }
    }

    static String describe(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.CompletionException
                || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        String message = t.getMessage();
        return message == null ? t.getClass().getSimpleName() : message;
    }
}
