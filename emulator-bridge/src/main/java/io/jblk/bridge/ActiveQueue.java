package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One running request queue: consumes available chains, hands them to the executor and publishes completions.
 *
 * <p>Completions arrive on any thread, in any order. They are queued and published by whichever thread finds the
 * queue idle (a work-in-progress counter), so a burst of completions, and everything that completes while a notify
 * is being processed, becomes one used-index update and at most one interrupt. After {@link #close} nothing more is
 * written to the rings or to status bytes.
 */
final class ActiveQueue {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");

    private record Completion(int head, MemorySegment statusByte, int status, int written) {
    }

    private final GuestErrorLog errors;
    private final int index;
    private final SplitVirtqueue ring;
    private final ChainWalker walker;
    private final VirtioBlkDevice device;
    private final Object availLock = new Object();
    private final ConcurrentLinkedQueue<Completion> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();
    private boolean closed; // guarded by this

    ActiveQueue(int index, SplitVirtqueue ring, ChainWalker walker, VirtioBlkDevice device, GuestErrorLog errors) {
        this.errors = errors;
        this.index = index;
        this.ring = ring;
        this.walker = walker;
        this.device = device;
    }

    /** Processes every available chain; the caller has checked the device is running. */
    void notifyQueue(BlkRequestExecutor executor) {
        // Taking the drain (when free) makes completions that arrive meanwhile wait for the drain at the end: one
        // used-index update and one interrupt for the batch. When another thread holds it, that thread will see
        // our increment and drain once more, so we must not drain as well.
        boolean owner = wip.getAndIncrement() == 0;
        try {
            synchronized (availLock) {
                while (true) {
                    int head;
                    while ((head = ring.nextAvailable()) >= 0) {
                        if (!tryStart()) {
                            return; // reset: leave the rest for nobody, the guest is re-initialising
                        }
                        start(head, executor);
                    }
                    if (!isOpen()) {
                        return; // reset: the rings belong to the guest again, do not write avail_event
                    }
                    ring.enableNotifications();
                    if (ring.hasAvailable()) {
                        continue;
                    }
                    break;
                }
            }
        } catch (VirtqueueException e) {
            device.needsReset("queue " + index + ": " + e.getMessage());
        } finally {
            if (owner) {
                drain(1);
            }
        }
    }

    /** Counts the request in flight unless the queue is closed (atomic with {@link #close}, which reset awaits). */
    private synchronized boolean tryStart() {
        if (closed) {
            return false;
        }
        device.requestStarted();
        return true;
    }

    private void start(int head, BlkRequestExecutor executor) {
        try {
            VirtioBlkRequest request = VirtioBlkRequest.frame(walker.walk(ring.descriptorTable(), ring.size(), head));
            executor.execute(request).whenComplete((written, error) -> {
                if (error == null) {
                    complete(new Completion(head, request.status(), VirtioBlkRequest.S_OK, written));
                } else {
                    Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause()
                            != null ? error.getCause() : error;
                    int status = cause instanceof BlkRequestException b ? b.status() : VirtioBlkRequest.S_IOERR;
                    errors.report(index, head, cause.toString());
                    complete(new Completion(head, request.status(), status, 0));
                }
            });
        } catch (DescriptorChainException e) {
            errors.report(index, head, e.getMessage());
            MemorySegment last = e.statusByte();
            complete(new Completion(head, last == null ? null : last.asSlice(last.byteSize() - 1, 1),
                    VirtioBlkRequest.S_IOERR, 0));
        } catch (BlkRequestException e) {
            errors.report(index, head, e.getMessage());
            complete(new Completion(head, e.statusByte(), e.status(), 0));
        } catch (RuntimeException e) {
            // A bug here must cost one request, not the emulator, and must not leave it counted in flight
            // (reset waits for that count).
            LOG.log(System.Logger.Level.ERROR, "virtio-blk queue " + index + " head " + head + ": internal error", e);
            complete(new Completion(head, null, VirtioBlkRequest.S_IOERR, 0));
        }
    }

    private void complete(Completion c) {
        try {
            done.add(c);
            if (wip.getAndIncrement() == 0) {
                drain(1);
            }
        } finally {
            device.requestFinished();
        }
    }

    private void drain(int missed) {
        boolean interrupt = false;
        do {
            synchronized (this) {
                Completion c;
                while ((c = done.poll()) != null) {
                    if (closed) {
                        continue;
                    }
                    if (c.statusByte() != null) {
                        c.statusByte().set(ValueLayout.JAVA_BYTE, 0, (byte) c.status());
                    }
                    ring.addUsed(c.head(), c.written() + (c.statusByte() != null ? 1 : 0));
                }
                if (!closed && ring.publishUsed()) {
                    interrupt = true;
                }
            }
            missed = wip.addAndGet(-missed);
        } while (missed != 0);
        // Raised after giving up the drain, so a sink that re-enters the device (kicks a queue) is safe.
        if (interrupt) {
            device.interrupt(index);
        }
    }

    /** From now on completions are dropped and nothing is written to guest memory (see also {@link #quiesce}). */
    synchronized void close() {
        closed = true;
    }

    private synchronized boolean isOpen() {
        return !closed;
    }

    /**
     * After {@link #close}: waits until no thread is inside {@link #notifyQueue}'s ring walk, so the caller knows
     * the avail_event field is not written any more. Must not be called with the device's lock held.
     */
    void quiesce() {
        synchronized (availLock) {
            // barrier only: a notify entering after this sees the queue closed before it writes to the rings
        }
    }
}
