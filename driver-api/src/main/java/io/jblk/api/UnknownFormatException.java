package io.jblk.api;

/** No installed driver has the requested format name, or none recognises the file. */
public final class UnknownFormatException extends BlockException {
    public UnknownFormatException(String message) {
        super(message);
    }
}
