package io.jblk.tests.reliability.hostile;

import java.lang.management.ManagementFactory;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Runs a call on its own daemon thread and reports whether it finished within a hang bound, and how many bytes that
 * thread allocated (HotSpot's per-thread allocation counter). Not a performance assertion: the bound is generous,
 * it only tells a hang or an allocation proportional to an attacker-chosen field from normal work.
 */
public final class BoundedCall {
    private BoundedCall() {
    }

    public record Outcome<T>(T value, Throwable thrown, boolean hung, long allocatedBytes) {
    }

    public static <T> Outcome<T> run(Callable<T> call, long timeoutSeconds) throws InterruptedException {
        var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long[] allocated = {-1};
        ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "bounded-call");
            t.setDaemon(true);
            return t;
        });
        try {
            Future<T> future = executor.submit(() -> {
                long before = threads.getCurrentThreadAllocatedBytes();
                try {
                    return call.call();
                } finally {
                    allocated[0] = threads.getCurrentThreadAllocatedBytes() - before;
                }
            });
            try {
                return new Outcome<>(future.get(timeoutSeconds, TimeUnit.SECONDS), null, false, allocated[0]);
            } catch (ExecutionException e) {
                return new Outcome<>(null, e.getCause(), false, allocated[0]);
            } catch (TimeoutException e) {
                future.cancel(true);
                return new Outcome<>(null, null, true, -1);
            }
        } finally {
            executor.shutdownNow();
        }
    }
}
