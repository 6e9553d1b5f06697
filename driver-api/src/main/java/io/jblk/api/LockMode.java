package io.jblk.api;

/**
 * Whether an open image takes QEMU's image locks: byte-range locks on the image file and every file behind it
 * (backing files, an external data file) that tell each user of the file, jblk or QEMU, in this process or another,
 * which permissions the others hold and refuse to share. See {@link BlockPermission} and docs/qcow2.md, "Image
 * locking".
 */
public enum LockMode {
    /** Take the locks, and refuse to open while another user holds a permission this open refuses to share, or
     * refuses to share one this open needs (QEMU's default, {@code locking=auto} on Linux). */
    ON,
    /** Take no locks (QEMU's {@code locking=off}): nothing protects the image, and other users cannot see this one. */
    OFF,
    /**
     * Read-only opens only: take the locks but share every permission, so the image opens even while another
     * process writes it ({@code qemu-img -U}, QEMU's {@code force-share=on}). What is read may then be inconsistent.
     */
    FORCE_SHARE
}
