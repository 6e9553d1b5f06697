package io.jblk.api;

/** An image that uses a format feature this driver does not implement (named in the message). */
public final class UnsupportedFeatureException extends BlockException {
    public UnsupportedFeatureException(String message) {
        super(message);
    }
}
