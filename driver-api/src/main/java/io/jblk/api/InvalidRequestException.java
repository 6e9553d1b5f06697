package io.jblk.api;

/** A request that is malformed in itself: a negative length, an unaligned offset, an oversized transfer. */
public class InvalidRequestException extends BlockException {
    public InvalidRequestException(String message) {
        super(message);
    }
}
