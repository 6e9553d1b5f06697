package io.jblk.bridge;

import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a workload on a daemon thread and fails, instead of hanging, when its progress counter stops moving: a
 * deadlocked workload leaves its threads behind (daemons) and the test reports where every thread was stuck. The
 * stall bound is a safety net against a hang, not a timing assertion.
 */
final class StallWatchdog {
    static final long STALL_SECONDS = 60;

    private StallWatchdog() {
    }

    /**
     * Runs {@code work} and returns its result.
     *
     * @throws StalledException when {@code progress} did not change for {@value #STALL_SECONDS} seconds; the
     *                          workload's threads are then left blocked where they are
     */
    static <T> T run(String what, AtomicLong progress, Callable<T> work) throws Exception {
        CompletableFuture<T> result = new CompletableFuture<>();
        Thread worker = Thread.ofPlatform().daemon().name("watched-" + what).start(() -> {
            try {
                result.complete(work.call());
            } catch (Throwable t) {
                result.completeExceptionally(t);
            }
        });
        long seen = progress.get();
        long stalledSince = System.nanoTime();
        while (true) {
            try {
                return result.get(1, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof Exception ex) {
                    throw ex;
                }
                throw (Error) e.getCause();
            } catch (TimeoutException e) {
                long now = progress.get();
                if (now != seen) {
                    seen = now;
                    stalledSince = System.nanoTime();
                } else if (System.nanoTime() - stalledSince > TimeUnit.SECONDS.toNanos(STALL_SECONDS)) {
                    throw new StalledException(what + ": no progress for " + STALL_SECONDS + " s after " + now
                            + " steps (worker " + worker.getName() + ")\n" + threadDump());
                }
            }
        }
    }

    /** The workload stopped making progress; its threads were left where they are. */
    static final class StalledException extends AssertionError {
        StalledException(String message) {
            super(message);
        }
    }

    static String threadDump() {
        StringBuilder s = new StringBuilder();
        for (Map.Entry<Thread, StackTraceElement[]> e : Thread.getAllStackTraces().entrySet()) {
            Thread t = e.getKey();
            s.append('"').append(t.getName()).append("\" ").append(t.getState()).append('\n');
            StackTraceElement[] frames = e.getValue();
            for (int i = 0; i < Math.min(frames.length, 14); i++) {
                s.append("    at ").append(frames[i]).append('\n');
            }
        }
        return s.toString();
    }
}
