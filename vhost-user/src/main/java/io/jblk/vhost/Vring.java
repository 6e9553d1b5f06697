package io.jblk.vhost;

import io.jblk.nativeio.EventFd;
import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.Poll;

import java.io.IOException;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One vring as the front-end configured it, and its worker while it runs.
 *
 * <p>The ring runs (a {@link QueueProcessor} and a worker thread waiting on the kick eventfd) when it has a kick
 * descriptor, is enabled, and its geometry resolves in guest memory. Everything but {@link #signalCall()} is called
 * on the session thread; the worker only calls {@link QueueProcessor#process()}; completions call
 * {@link #signalCall()} from the block driver's threads.
 */
final class Vring {
    private static final System.Logger LOG = System.getLogger("io.jblk.vhost");

    final int index;
    int size;
    long descUser;
    long availUser;
    long usedUser;
    boolean addressesSet;
    int base;
    boolean enabled;
    EventFd kick;
    private EventFd err;

    private final ReentrantLock callLock = new ReentrantLock();
    private EventFd call; // guarded by callLock

    private QueueProcessor processor;
    private Thread worker;
    private EventFd stopWorker;
    private volatile String brokenReason;

    Vring(int index) {
        this.index = index;
    }

    boolean running() {
        return processor != null;
    }

    /** Replaces the call eventfd (null: none); completions racing with the swap signal the old or the new one. */
    void setCall(EventFd next) {
        EventFd old;
        callLock.lock();
        try {
            old = call;
            call = next;
        } finally {
            callLock.unlock();
        }
        closeQuietly(old);
    }

    /** Interrupts the guest for new used elements; a failed signal is logged (the front-end may be going away). */
    void signalCall() {
        callLock.lock();
        try {
            if (call != null) {
                call.signal();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.DEBUG, "vring " + index + ": call eventfd: " + e.getMessage());
        } finally {
            callLock.unlock();
        }
    }

    void setErr(EventFd next) {
        EventFd old = err;
        err = next;
        closeQuietly(old);
    }

    void setKick(EventFd next) {
        EventFd old = kick;
        kick = next;
        closeQuietly(old);
    }

    /** Why the ring stopped on its own (bad avail index), or null. */
    String brokenReason() {
        return brokenReason;
    }

    /** Starts the worker over {@code p}; the ring must have a kick descriptor and not be running. */
    void start(QueueProcessor p) throws IOException {
        EventFd stop = EventFd.create();
        processor = p;
        stopWorker = stop;
        brokenReason = null;
        EventFd k = kick;
        worker = Thread.ofPlatform().daemon().name("jblk-vhost-vring-" + index).start(() -> work(p, k, stop));
    }

    private void work(QueueProcessor p, EventFd k, EventFd stop) {
        try {
            p.process(); // chains made available before the ring started
            while (true) {
                long ready = Poll.readable(-1, k.fd(), stop.fd());
                if ((ready & 2) != 0) {
                    return;
                }
                k.await();
                p.process();
            }
        } catch (IOException | RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "vring " + index + " worker stopped: " + e, e);
        }
    }

    /** Marks the ring unusable (called from the processor); the session stops it at its next message. */
    void broken(String why) {
        brokenReason = why;
        LOG.log(System.Logger.Level.ERROR, "vring {0} stopped: {1}", index, why);
        EventFd e = err;
        if (e != null) {
            try {
                e.signal();
            } catch (IOException ignored) {
                // the front-end is going away; the log line stands
            }
        }
    }

    /**
     * Stops the worker, lets the processor finish what is in flight and keeps its next avail index as the base.
     * Nothing of this ring touches guest memory afterwards. No-op when not running.
     */
    void stop() {
        if (processor == null) {
            return;
        }
        try {
            stopWorker.signal();
        } catch (IOException e) {
            throw new IllegalStateException("cannot wake the worker of vring " + index, e);
        }
        boolean interrupted = false;
        while (true) {
            try {
                worker.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the join must finish: the worker may still be reading the rings
            }
        }
        base = processor.stop();
        processor = null;
        worker = null;
        closeQuietly(stopWorker);
        stopWorker = null;
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Stops and forgets every setting and descriptor (disconnect, RESET_OWNER). */
    void reset() {
        stop();
        setKick(null);
        setCall(null);
        setErr(null);
        size = 0;
        descUser = availUser = usedUser = 0;
        addressesSet = false;
        base = 0;
        enabled = false;
    }

    private static void closeQuietly(EventFd e) {
        if (e != null) {
            NativeFd fd = e.fd();
            fd.closeQuietly();
        }
    }
}
