package io.jblk.api;

/**
 * Metadata found inconsistent while serving a request. A writable image is marked corrupt and refuses writes from
 * then on; the message says what was found and how to repair it.
 */
public final class CorruptImageException extends ImageFormatException {
    public CorruptImageException(String message) {
        super(message);
    }
}
