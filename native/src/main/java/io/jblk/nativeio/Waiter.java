package io.jblk.nativeio;

import io.jblk.api.Futures;

import java.io.IOException;
import java.util.concurrent.locks.LockSupport;

/**
 * One blocked caller of a native operation and the result it waits for. The engine thread that finishes the
 * operation stores the result and unparks the caller: for a virtual thread that only schedules its continuation, so
 * no caller code ever runs on the engine's thread and no completion thread sits in between.
 */
final class Waiter<T> {
    private final Thread caller = Thread.currentThread();
    private volatile boolean done;
    private T value;
    private Throwable failure;

    void succeed(T result) {
        value = result;
        done = true;
        LockSupport.unpark(caller);
    }

    void fail(Throwable cause) {
        failure = cause;
        done = true;
        LockSupport.unpark(caller);
    }

    /**
     * Parks until the operation finished. Not interruptible: the kernel may still be using the caller's buffer, so
     * an interrupt is remembered and re-asserted once the operation is over.
     */
    T await() throws IOException {
        boolean interrupted = false;
        while (!done) {
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        if (failure != null) {
            throw Futures.asIOException(failure);
        }
        return value;
    }
}
