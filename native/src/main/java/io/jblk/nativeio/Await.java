package io.jblk.nativeio;

import io.jblk.api.Futures;

import java.io.IOException;
import java.util.concurrent.CompletableFuture;

/**
 * {@link Futures#await}, under the name the qcow2 driver's straight-line code over {@link HostFile} imports. The
 * unwrapping itself lives in {@link Futures} only.
 */
public final class Await {
    private Await() {
    }

    /** {@link Futures#await}. */
    public static <T> T await(CompletableFuture<T> future) throws IOException {
        return Futures.await(future);
    }
}
