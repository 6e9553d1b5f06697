package io.jblk.api;

import java.io.IOException;

/** Base of every error jblk reports about a request, an image or an option. Messages name the offending values. */
public class BlockException extends IOException {
    public BlockException(String message) {
        super(message);
    }

    public BlockException(String message, Throwable cause) {
        super(message, cause);
    }
}
