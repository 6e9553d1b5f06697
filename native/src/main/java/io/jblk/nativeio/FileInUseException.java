package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Another user of the file holds a permission this open needs refused, or refuses one this open needs to hold. The
 * message is QEMU's, so scripts that look for it work with either tool:
 * <pre>
 * Failed to get shared "write" lock
 * Is another process using the image [disk.qcow2]?
 * </pre>
 */
public final class FileInUseException extends IOException {
    private final String context;
    private final Path path;
    private final Permission permission;
    private final boolean shared;

    FileInUseException(Path path, Permission permission, boolean shared) {
        this("", path, permission, shared);
    }

    private FileInUseException(String context, Path path, Permission permission, boolean shared) {
        super(context + "Failed to get " + (shared ? "shared " : "") + "\"" + permission.qemuName() + "\" lock\n"
                + "Is another process using the image [" + path + "]?");
        this.context = context;
        this.path = path;
        this.permission = permission;
        this.shared = shared;
    }

    /** The same refusal, its message prefixed with where it happened, e.g. {@code "Could not open backing file: "}. */
    public FileInUseException inContext(String context) {
        FileInUseException e = new FileInUseException(context + this.context, path, permission, shared);
        e.initCause(this);
        return e;
    }

    public Path path() {
        return path;
    }

    /** The permission in dispute. */
    public Permission permission() {
        return permission;
    }

    /**
     * True when another user holds {@link #permission()} and this open refuses to share it ("Failed to get shared");
     * false when this open wants to hold it and another user refuses to share it.
     */
    public boolean shared() {
        return shared;
    }
}
