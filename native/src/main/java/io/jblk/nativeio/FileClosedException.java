package io.jblk.nativeio;

import java.nio.channels.ClosedChannelException;
import java.nio.file.Path;

/** An operation was attempted on a {@link HostFile} after {@link HostFile#close}. */
public final class FileClosedException extends ClosedChannelException {
    private static final long serialVersionUID = 1L;

    private final String message;

    public FileClosedException(String operation, Path path) {
        this.message = operation + " on " + path + ": the file is closed";
    }

    @Override
    public String getMessage() {
        return message;
    }
}
