package io.jblk.nativeio;

import io.jblk.api.BlockPermission;
import io.jblk.api.CacheMode;
import io.jblk.api.InvalidOptionException;
import io.jblk.api.LockMode;
import io.jblk.api.OpenOptions;

import java.util.EnumSet;
import java.util.Set;

/**
 * Translates the API's open options into host-file options: the one place that maps one vocabulary to the other,
 * and that decides which image-lock permissions each file behind an image takes. The rules are QEMU 7.2's, as
 * {@code strace -e fcntl} and {@code /proc/locks} show them for its tools (docs/qcow2.md, "Image locking"):
 * <ul>
 *   <li>the opener holds consistent read (not when it only inspects metadata) and, when writable, write; it shares
 *       what {@link OpenOptions#sharedPermissions()} says, or everything with {@link LockMode#FORCE_SHARE};</li>
 *   <li>a raw image's file takes exactly that ({@link #hostOptions});</li>
 *   <li>a qcow2 image's file also holds consistent read, and write and resize when writable, and never shares write
 *       or resize: its metadata must not change underneath ({@link #forMetadataFile});</li>
 *   <li>an external data file holds resize along with write and never shares resize ({@link #forDataFile});</li>
 *   <li>a backing image is opened read-only sharing everything ({@link #backingOptions}); its own format then adds
 *       what it needs (a qcow2 backing file refuses writers, a raw one does not).</li>
 * </ul>
 */
public final class HostFileOpening {
    private HostFileOpening() {
    }

    /** Options for a file that is the image itself, passed through (raw). */
    public static HostFileOptions hostOptions(OpenOptions options) throws InvalidOptionException {
        return base(options, opener(options));
    }

    /** Options for {@code options} with the resize permission held as well (resizing a raw image). */
    public static HostFileOptions forResize(OpenOptions options) throws InvalidOptionException {
        LockPermissions user = opener(options);
        return base(options, user == null ? null : user.holding(EnumSet.of(Permission.RESIZE)));
    }

    /** Options for a file that holds an image's metadata (a qcow2 image's file). */
    public static HostFileOptions forMetadataFile(OpenOptions options) throws InvalidOptionException {
        LockPermissions user = opener(options);
        if (user == null) {
            return base(options, null);
        }
        Set<Permission> held = EnumSet.noneOf(Permission.class);
        if (!options.metadataOnly()) {
            held.add(Permission.CONSISTENT_READ);
        }
        if (!options.readOnly()) {
            held.add(Permission.WRITE);
            held.add(Permission.RESIZE);
        }
        LockPermissions file = user.holding(held);
        if (options.lockMode() != LockMode.FORCE_SHARE) {
            file = file.notSharing(EnumSet.of(Permission.WRITE, Permission.RESIZE));
        }
        return base(options, file);
    }

    /**
     * Options for an image's external data file. An inspection of metadata takes no lock on it: {@code qemu-img
     * info} does not open the data file at all.
     */
    public static HostFileOptions forDataFile(OpenOptions options) throws InvalidOptionException {
        LockPermissions user = opener(options);
        if (user == null || options.metadataOnly()) {
            return base(options, null);
        }
        LockPermissions file = user.held().contains(Permission.WRITE)
                ? user.holding(EnumSet.of(Permission.RESIZE)) : user;
        if (options.lockMode() != LockMode.FORCE_SHARE) {
            file = file.notSharing(EnumSet.of(Permission.RESIZE));
        }
        return base(options, file);
    }

    /**
     * How an image opens its backing image: read-only, sharing everything, with the overlay's cache mode, engine and
     * lock mode. An inspection of metadata leaves the backing file unlocked: {@code qemu-img info} does not open it.
     */
    public static OpenOptions.Builder backingOptions(OpenOptions overlay) {
        return OpenOptions.builder().readOnly(true).cacheMode(overlay.cacheMode()).ioEngine(overlay.ioEngine())
                .lockMode(overlay.metadataOnly() ? LockMode.OFF : overlay.lockMode())
                .sharedPermissions(EnumSet.allOf(BlockPermission.class));
    }

    /**
     * The lock a new file takes from the moment it is created until its creator is done with it: write and resize
     * held, resize not shared (what {@code qemu-img create} holds while it creates and preallocates a raw file).
     */
    public static LockPermissions creation() {
        return LockPermissions.of(EnumSet.of(Permission.WRITE, Permission.RESIZE),
                EnumSet.complementOf(EnumSet.of(Permission.RESIZE)));
    }

    /** What the opener itself holds and shares, before its format adds anything; null when it takes no locks. */
    private static LockPermissions opener(OpenOptions options) throws InvalidOptionException {
        if (options.lockMode() == LockMode.FORCE_SHARE && !options.readOnly()) {
            throw new InvalidOptionException("force-share=on can only be used with read-only images");
        }
        if (options.lockMode() == LockMode.OFF) {
            return null;
        }
        Set<Permission> held = EnumSet.noneOf(Permission.class);
        if (!options.metadataOnly()) {
            held.add(Permission.CONSISTENT_READ);
        }
        if (!options.readOnly()) {
            held.add(Permission.WRITE);
        }
        Set<Permission> shared = options.lockMode() == LockMode.FORCE_SHARE ? LockPermissions.all()
                : toNative(options.sharedPermissions());
        return LockPermissions.of(held, shared);
    }

    private static HostFileOptions base(OpenOptions options, LockPermissions lock) {
        HostFileOptions.Engine engine = switch (options.ioEngine()) {
            case AUTO -> HostFileOptions.Engine.AUTO;
            case IO_URING -> HostFileOptions.Engine.IO_URING;
            case THREADS -> HostFileOptions.Engine.THREADS;
        };
        return new HostFileOptions(options.readOnly(), options.cacheMode() == CacheMode.NONE, engine, false, lock);
    }

    private static Set<Permission> toNative(Set<BlockPermission> permissions) {
        Set<Permission> out = EnumSet.noneOf(Permission.class);
        for (BlockPermission p : permissions) {
            out.add(switch (p) {
                case CONSISTENT_READ -> Permission.CONSISTENT_READ;
                case WRITE -> Permission.WRITE;
                case WRITE_UNCHANGED -> Permission.WRITE_UNCHANGED;
                case RESIZE -> Permission.RESIZE;
            });
        }
        return out;
    }
}
