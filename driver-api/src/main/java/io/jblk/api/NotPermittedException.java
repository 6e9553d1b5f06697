package io.jblk.api;

/**
 * A request the device refuses on principle rather than because it is malformed: a write to the first sector of a
 * raw image whose format was probed that would make the image probe as another format. Servers report it as
 * EPERM, as QEMU does.
 */
public final class NotPermittedException extends BlockException {
    public NotPermittedException(String message) {
        super(message);
    }
}
