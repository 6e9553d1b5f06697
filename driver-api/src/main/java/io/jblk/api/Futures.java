package io.jblk.api;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * Waiting for a request's future, and reading its failure: the one place that takes the exception a device or host
 * file raised out of the {@link CompletionException}/{@link ExecutionException} wrappers that
 * {@link CompletableFuture} puts around it (one per dependent stage, so there may be several).
 */
public final class Futures {
    private Futures() {
    }

    /**
     * Blocks (a virtual thread, normally) until {@code future} completes and rethrows its failure as what it was: an
     * {@link IOException} as itself, an {@link UncheckedIOException} as its cause, a {@link RuntimeException} or
     * {@link Error} as itself, anything else wrapped in an IOException. An interrupt ends the wait with an
     * {@link InterruptedIOException}, the interrupt status kept.
     */
    public static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            throw asIOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for I/O");
        }
    }

    /** The failure behind any number of completion wrappers; {@code t} itself when it is not one (or has no cause). */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * {@code failure} unwrapped, as an IOException to throw: an IOException as itself, an UncheckedIOException as its
     * cause, anything else that is checked wrapped. Runtime exceptions and errors are thrown from here, as they are
     * programming errors rather than I/O failures.
     */
    public static IOException asIOException(Throwable failure) {
        Throwable t = unwrap(failure);
        return switch (t) {
            case IOException io -> io;
            case UncheckedIOException u -> u.getCause();
            case RuntimeException r -> throw r;
            case Error e -> throw e;
            default -> new IOException(t);
        };
    }
}
