package io.jblk.cli;

import io.jblk.api.Futures;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Waits for a device request, rethrowing its failure as an IOException that says what was being done. */
final class Await {
    private Await() {
    }

    static <T> T get(CompletableFuture<T> future, String what) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(what + ": interrupted", e);
        } catch (ExecutionException | CompletionException e) {
            Throwable cause = Futures.unwrap(e);
            throw new IOException(what + ": " + Images.describe(cause), cause);
        }
    }
}
