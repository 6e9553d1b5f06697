package io.jblk.api;

/** A creation or open option with a bad value, or options that make no sense together. */
public final class InvalidOptionException extends BlockException {
    public InvalidOptionException(String message) {
        super(message);
    }
}
