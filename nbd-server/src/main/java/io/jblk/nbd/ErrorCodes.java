package io.jblk.nbd;

import io.jblk.api.DeviceClosedException;
import io.jblk.api.Futures;
import io.jblk.api.InvalidRequestException;
import io.jblk.api.NotPermittedException;
import io.jblk.api.ReadOnlyDeviceException;
import io.jblk.api.UnsupportedFeatureException;

/** Maps what a device raised to the NBD error value a client sees. */
final class ErrorCodes {
    private ErrorCodes() {
    }

    static int of(Throwable failure) {
        Throwable t = Futures.unwrap(failure);
        return switch (t) {
            case ReadOnlyDeviceException e -> Nbd.EPERM;
            case NotPermittedException e -> Nbd.EPERM;
            case InvalidRequestException e -> Nbd.EINVAL;
            case UnsupportedFeatureException e -> Nbd.ENOTSUP;
            case DeviceClosedException e -> Nbd.ESHUTDOWN;
            case OutOfMemoryError e -> Nbd.ENOMEM;
            default -> t.getMessage() != null && t.getMessage().contains("No space left") ? Nbd.ENOSPC : Nbd.EIO;
        };
    }

    static String message(Throwable failure) {
        Throwable t = Futures.unwrap(failure);
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
