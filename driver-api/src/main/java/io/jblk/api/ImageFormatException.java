package io.jblk.api;

/**
 * An image whose on-disk structures are malformed: a header field out of range, a table past the end of the file,
 * an entry that cannot be valid. The message names the field, its value and the limit.
 */
public class ImageFormatException extends BlockException {
    public ImageFormatException(String message) {
        super(message);
    }

    public ImageFormatException(String message, Throwable cause) {
        super(message, cause);
    }

    /** "{@code field} is {@code value}, expected {@code expected}". */
    public static ImageFormatException field(String field, Object value, String expected) {
        return new ImageFormatException(field + " is " + value + ", expected " + expected);
    }
}
