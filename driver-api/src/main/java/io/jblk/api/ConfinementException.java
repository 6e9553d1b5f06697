package io.jblk.api;

import java.nio.file.Path;

/**
 * An image names a backing or data file outside the directories its {@link FileConfinement} allows; the message
 * names the file, the image and the directories.
 */
public final class ConfinementException extends BlockException {
    private final Path file;

    public ConfinementException(String message, Path file) {
        super(message);
        this.file = file;
    }

    /** The refused file, as the image names it (resolved against the image's directory). */
    public Path file() {
        return file;
    }
}
