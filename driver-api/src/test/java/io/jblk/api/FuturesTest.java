package io.jblk.api;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A request's failure comes out of its future as the exception the device raised, however many stages wrapped it. */
class FuturesTest {
    @Test
    void theFailureBehindDependentStagesIsThrownAsItWas() {
        IOException cause = new IOException("pwrite failed: ENOSPC");
        CompletableFuture<Integer> failed = CompletableFuture.failedFuture(cause);
        // two dependent stages: each wraps the failure in a CompletionException
        CompletableFuture<Integer> dependent = failed.thenApply(x -> x + 1).thenApply(x -> x * 2);
        assertSame(cause, assertThrows(IOException.class, () -> Futures.await(dependent)));
        assertSame(cause, Futures.unwrap(new ExecutionException(new CompletionException(new CompletionException(cause)))));
    }

    @Test
    void uncheckedIoBecomesItsCauseAndOtherFailuresKeepTheirKind() {
        IOException io = new IOException("EIO");
        assertSame(io, Futures.asIOException(new CompletionException(new UncheckedIOException(io))));
        IllegalStateException bug = new IllegalStateException("a bug");
        assertSame(bug, assertThrows(IllegalStateException.class,
                () -> Futures.await(CompletableFuture.failedFuture(bug))));
        Exception checked = new Exception("not I/O");
        IOException wrapped = Futures.asIOException(new CompletionException(checked));
        assertSame(checked, wrapped.getCause());
        Throwable bare = new CompletionException("no cause", null);
        assertSame(bare, Futures.unwrap(bare), "a wrapper without a cause is the failure itself");
    }

    @Test
    void anInterruptEndsTheWaitAndIsKept() throws Exception {
        CompletableFuture<Void> never = new CompletableFuture<>();
        Thread.currentThread().interrupt();
        try {
            assertThrows(InterruptedIOException.class, () -> Futures.await(never));
            assertTrue(Thread.interrupted(), "the interrupt status is kept for the caller");
        } finally {
            Thread.interrupted();
        }
        assertEquals(7, Futures.await(CompletableFuture.completedFuture(7)));
    }
}
