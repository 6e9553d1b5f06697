package io.jblk.nativeio;

/**
 * How to open a {@link HostFile}.
 *
 * @param readOnly open O_RDONLY
 * @param direct   open O_DIRECT (qemu's cache=none)
 * @param engine   which I/O engine to use
 * @param create   create the file if it does not exist (O_CREAT; never O_TRUNC: the lock is taken before the caller
 *                 may truncate, so a file in use elsewhere is refused untouched)
 * @param lock     the image-locking permissions to take ({@link PermissionLock}), or null for none (QEMU's
 *                 {@code locking=off})
 */
public record HostFileOptions(boolean readOnly, boolean direct, Engine engine, boolean create, LockPermissions lock) {

    public HostFileOptions {
        if (engine == null) {
            throw new IllegalArgumentException("engine must be set");
        }
        if (readOnly && create) {
            throw new IllegalArgumentException("cannot create a file opened read-only");
        }
        if (readOnly && lock != null && (lock.held().contains(Permission.WRITE)
                || lock.held().contains(Permission.RESIZE))) {
            throw new IllegalArgumentException("a file opened read-only cannot hold the write or resize permission");
        }
    }

    /** Read-write, page cache, automatic engine, no create, locked with {@link LockPermissions#defaultFor}. */
    public static HostFileOptions defaults() {
        return new HostFileOptions(false, false, Engine.AUTO, false, LockPermissions.defaultFor(false));
    }

    /** Read-only or not; a default lock follows (a read-only file gives up the write and resize permissions). */
    public HostFileOptions withReadOnly(boolean value) {
        LockPermissions l = lock;
        if (l != null && value) {
            l = l.notHolding(java.util.EnumSet.of(Permission.WRITE, Permission.RESIZE));
        } else if (l != null && l.equals(LockPermissions.defaultFor(true))) {
            l = LockPermissions.defaultFor(false);
        }
        return new HostFileOptions(value, direct, engine, create && !value, l);
    }

    public HostFileOptions withDirect(boolean value) {
        return new HostFileOptions(readOnly, value, engine, create, lock);
    }

    public HostFileOptions withEngine(Engine value) {
        return new HostFileOptions(readOnly, direct, value, create, lock);
    }

    public HostFileOptions withCreate(boolean value) {
        return new HostFileOptions(readOnly, direct, engine, value, lock);
    }

    /** Locked with the default permissions for this access mode, or not locked at all. */
    public HostFileOptions withLock(boolean value) {
        return withLock(value ? LockPermissions.defaultFor(readOnly) : null);
    }

    /** Locked with {@code value} (null: not locked). */
    public HostFileOptions withLock(LockPermissions value) {
        return new HostFileOptions(readOnly, direct, engine, create, value);
    }

    /** Host I/O engines, fastest first. */
    public enum Engine {
        /** io_uring, else threads, else FileChannel; the cause of any downgrade is kept. */
        AUTO,
        IO_URING,
        THREADS,
        /** Pure Java, no native access: what remains when FFM is not permitted. */
        FILECHANNEL
    }
}
