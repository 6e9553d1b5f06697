package io.jblk.nativeio;

/**
 * What a user of an image file may do with it, as QEMU's block layer names it (QEMU 7.2 has these four; its older
 * "graph-mod" permission is gone and no QEMU 7.2 tool locks a byte for it). The order is QEMU's bit order, which
 * fixes the lock bytes: {@link #heldByte()} and {@link #unsharedByte()}.
 */
public enum Permission {
    /** Reading and getting what was written: a format driver's metadata, a guest's data. */
    CONSISTENT_READ("consistent read"),
    /** Changing the visible content. */
    WRITE("write"),
    /** Writing data that does not change the content (copy-on-read, say). */
    WRITE_UNCHANGED("write unchanged"),
    /** Changing the file's length. */
    RESIZE("resize");

    /** First byte of the "I hold permission N" range (QEMU's RAW_LOCK_PERM_BASE). */
    static final int HELD_BASE = 100;
    /** First byte of the "I do not share permission N" range (QEMU's RAW_LOCK_SHARED_BASE). */
    static final int UNSHARED_BASE = 200;

    private final String qemuName;

    Permission(String qemuName) {
        this.qemuName = qemuName;
    }

    /** The name QEMU prints in lock errors, e.g. {@code write unchanged}. */
    public String qemuName() {
        return qemuName;
    }

    /** The byte a holder of this permission keeps read-locked. */
    public long heldByte() {
        return HELD_BASE + ordinal();
    }

    /** The byte a user that refuses to share this permission keeps read-locked. */
    public long unsharedByte() {
        return UNSHARED_BASE + ordinal();
    }
}
