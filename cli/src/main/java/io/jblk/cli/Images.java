package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.BlockPermission;
import io.jblk.api.CacheMode;
import io.jblk.api.ConfinementException;
import io.jblk.api.IoEngineKind;
import io.jblk.api.LockMode;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/** Opens images for the subcommands, turning failures into qemu-img's "Could not open" wording. */
final class Images {
    private Images() {
    }

    /** What qemu-img and qemu-io let other users do meanwhile: everything (the format may take some back). */
    static final Set<BlockPermission> SHARE_ALL = EnumSet.allOf(BlockPermission.class);

    /**
     * Open options as qemu-img and qemu-io lock their images: sharing every permission, and with {@code -U}
     * ({@code forceShare}) refusing no one, which QEMU allows for read-only opens only.
     */
    static OpenOptions.Builder options(boolean readOnly, boolean forceShare) {
        return OpenOptions.builder().readOnly(readOnly).sharedPermissions(SHARE_ALL)
                .lockMode(forceShare ? LockMode.FORCE_SHARE : LockMode.ON);
    }

    static BlockDevice open(Path file, String format, boolean readOnly) {
        return open(file, format, readOnly, false);
    }

    static BlockDevice open(Path file, String format, boolean readOnly, boolean forceShare) {
        return open(file, format, options(readOnly, forceShare).build());
    }

    static BlockDevice open(Path file, String format, boolean readOnly, String cache, String engine) {
        return open(file, format, options(readOnly, false), cache, engine);
    }

    /** Opens with {@code options} plus qemu's {@code -t}/{@code --cache} and {@code -i}/{@code --aio} values. */
    static BlockDevice open(Path file, String format, OpenOptions.Builder options, String cache, String engine) {
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
            if (e.getFile() == null || Path.of(e.getFile()).equals(file)) {
                throw new CliException("Could not open '" + file + "': No such file or directory");
            }
            // A file the image refers to (its backing file): named with what it is, as qemu-img does.
            String reason = e.getReason() == null ? "" : e.getReason() + ": ";
            throw new CliException("Could not open '" + file + "': " + reason + "Could not open '" + e.getFile()
                    + "': No such file or directory");
        } catch (ConfinementException e) {
            throw new CliException("Could not open '" + file + "': " + e.getMessage()
                    + " (allow it with --allow-backing DIR, or follow names anywhere with --no-confine)");
        } catch (IOException | RuntimeException e) {
            throw new CliException("Could not open '" + file + "': " + describe(e));
        }
    }

    /**
     * qemu's warning for a writable image whose format was probed as raw, whose first 512 bytes the device then
     * guards (a write that would make it probe as another format is refused).
     */
    static void warnIfProbedRaw(java.io.PrintWriter err, Path file, String format, BlockDevice device)
            throws IOException {
        if (format == null && !device.isReadOnly() && "raw".equals(device.info().format())) {
            err.println("WARNING: Image format was not specified for '" + file + "' and probing guessed raw.");
            err.println("         Automatically detecting the format is dangerous for raw images, write operations"
                    + " on block 0 will be restricted.");
            err.println("         Specify the 'raw' format explicitly to remove the restrictions.");
            err.flush();
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
        Throwable t = io.jblk.api.Futures.unwrap(e);
        String message = t.getMessage();
        return message == null ? t.getClass().getSimpleName() : message;
    }
}
