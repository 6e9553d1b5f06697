package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jblk.bridge.VirtioBlkRequest.NO_STATUS;
import static io.jblk.bridge.VirtioBlkRequest.S_IOERR;

/**
 * One running request queue: consumes available chains, hands them to the executor and publishes completions.
 * Transport-independent: it reports to the device, which owns interrupt status and signalling.
 *
 * <p>Completions arrive on any thread, in any order, and are queued. In threaded mode they are published by
 * whichever thread finds the queue idle (a work-in-progress counter), so a burst of completions, and everything
 * that completes while a notify is being processed, becomes one used-index update and at most one interrupt. In
 * polled mode a kick and the completions wait for {@link #poll}, the only place that touches the rings then.
 *
 * <p>{@link #close} is the reset fence: it takes the monitor every publication holds, so once it returns nothing
 * more is written to the rings, to status bytes or to the guest buffers of staged data; completions that arrive
 * later are dropped.
 */
final class ActiveQueue {
    private static final System.Logger LOG = System.getLogger("io.jblk.bridge");

    private record Completion(int head, long statusAddress, int status, BlkRequestExecutor.Reply reply) {
    }

    private final int index;
    private final SplitVirtqueue ring;
    private final ChainWalker walker;
    private final GuestMemory memory;
    private final VirtioBlkDevice device;
    private final GuestErrorLog errors;
    private final boolean polled;
    private final Object availLock = new Object();
    private final ConcurrentLinkedQueue<Completion> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger drains = new AtomicInteger();
    private final AtomicBoolean kicked = new AtomicBoolean();
    private volatile boolean closed; // written under this

    ActiveQueue(int index, SplitVirtqueue ring, ChainWalker walker, GuestMemory memory, VirtioBlkDevice device,
                GuestErrorLog errors, boolean polled) {
        this.index = index;
        this.ring = ring;
        this.walker = walker;
        this.memory = memory;
        this.device = device;
        this.errors = errors;
        this.polled = polled;
    }

    int index() {
        return index;
    }

    SplitVirtqueue ring() {
        return ring;
    }

    /**
     * Threaded mode: processes every available chain on the kicking thread, then publishes what completed meanwhile.
     * The caller has checked the device is running.
     */
    void notifyQueue(BlkRequestExecutor executor) {
        // Taking the drain (when free) makes completions that arrive meanwhile wait for the drain at the end: one
        // used-index update and one interrupt for the batch. When another thread holds it, that thread will see
        // our increment and drain once more, so we must not drain as well.
        boolean owner = drains.getAndIncrement() == 0;
        try {
            serveAvailable(executor);
        } finally {
            if (owner) {
                drain(1, true);
            }
        }
    }

    /** Completions waiting to be published (in polled mode: for {@link #poll}). */
    int completionsWaiting() {
        return done.size();
    }

    /** Polled mode: remembers a kick until the next {@link #poll}. */
    void kick() {
        kicked.set(true);
    }

    /**
     * Polled mode, on the embedder's thread: serves a remembered kick (when {@code executor} is not null, i.e. the
     * device runs), then publishes every completion that has arrived.
     *
     * @return the number of completions published
     */
    int poll(BlkRequestExecutor executor) {
        if (kicked.getAndSet(false) && executor != null) {
            serveAvailable(executor);
        }
        return drains.getAndIncrement() == 0 ? drain(1, true) : 0;
    }

    private void serveAvailable(BlkRequestExecutor executor) {
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
                    if (closed) {
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
            device.needsReset(this, "queue " + index + ": " + e.getMessage(), true);
        } catch (RuntimeException e) {
            device.needsReset(this, "queue " + index + ": guest memory under the rings failed: " + e, true);
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
            VirtioBlkRequest request = VirtioBlkRequest.frame(walker.walk(ring, head), memory);
            executor.execute(request).whenComplete((reply, error) -> {
                if (error == null) {
                    complete(new Completion(head, request.statusAddress(), VirtioBlkRequest.S_OK, reply));
                } else {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null
                            ? error.getCause() : error;
                    int status = cause instanceof BlkRequestException b ? b.status() : S_IOERR;
                    errors.report(index, head, cause.toString());
                    complete(new Completion(head, request.statusAddress(), status, BlkRequestExecutor.Reply.of(0)));
                }
            });
        } catch (DescriptorChainException e) {
            errors.report(index, head, e.getMessage());
            complete(new Completion(head, e.statusAddress(), S_IOERR, BlkRequestExecutor.Reply.of(0)));
        } catch (BlkRequestException e) {
            errors.report(index, head, e.getMessage());
            complete(new Completion(head, e.statusAddress(), e.status(), BlkRequestExecutor.Reply.of(0)));
        } catch (RuntimeException e) {
            // A bug (or a failing guest memory) must cost one request, not the emulator, and must not leave it
            // counted in flight (reset waits for that count).
            LOG.log(System.Logger.Level.ERROR, "virtio-blk queue " + index + " head " + head + ": internal error", e);
            complete(new Completion(head, NO_STATUS, S_IOERR, BlkRequestExecutor.Reply.of(0)));
        }
    }

    private void complete(Completion c) {
        done.add(c);
        if (!polled || closed) {
            if (drains.getAndIncrement() == 0) {
                drain(1, false);
            }
        } else {
            device.completionWaiting();
        }
    }

    /**
     * Publishes (or, once closed, drops) every queued completion while this thread holds the drain; then counts them
     * finished and, with no lock held, signals the interrupt the guest asked for.
     *
     * @param here whether this is an embedder thread (notify, poll, reset) rather than an I/O completion thread
     */
    private int drain(int missed, boolean here) {
        int published = 0;
        int finished = 0;
        boolean interrupt = false;
        RuntimeException ringFault = null;
        do {
            synchronized (this) {
                Completion c;
                while ((c = done.poll()) != null) {
                    finished++;
                    if (closed || ringFault != null) {
                        continue;
                    }
                    try {
                        publish(c);
                        published++;
                    } catch (RuntimeException e) {
                        ringFault = e;
                    }
                }
                try {
                    if (!closed && ringFault == null && ring.publishUsed()) {
                        // Under the fence: a reset that closes this queue clears the status after this.
                        device.raiseUsedBufferInterrupt();
                        interrupt = true;
                    }
                } catch (RuntimeException e) {
                    ringFault = e;
                }
            }
            missed = drains.addAndGet(-missed);
        } while (missed != 0);
        device.requestsFinished(finished);
        if (ringFault != null) {
            device.needsReset(this, "queue " + index + ": guest memory under the used ring failed: " + ringFault,
                    here);
        }
        if (interrupt) {
            device.signalUsedBuffers(index, here);
        }
        return published;
    }

    /** Writes one completion into guest memory: staged data, status byte, used element. Under the monitor. */
    private void publish(Completion c) {
        int status = c.status();
        int written = c.reply().written();
        try {
            c.reply().copyOut(memory);
        } catch (RuntimeException e) {
            errors.report(index, c.head(), "copying the data into guest memory failed: " + e);
            status = S_IOERR;
            written = 0;
        }
        boolean statusWritten = false;
        if (c.statusAddress() != NO_STATUS) {
            try {
                memory.write(c.statusAddress(), MemorySegment.ofArray(new byte[]{(byte) status}));
                statusWritten = true;
            } catch (RuntimeException e) {
                errors.report(index, c.head(), "writing the status byte failed: " + e);
            }
        }
        ring.addUsed(c.head(), written + (statusWritten ? 1 : 0));
    }

    /** From now on completions are dropped and nothing is written to guest memory (see also {@link #quiesce}). */
    synchronized void close() {
        closed = true;
    }

    /**
     * After {@link #close}: waits until no thread is inside the ring walk, so the caller knows the avail_event field
     * is not written any more, then drops the completions that were waiting for {@code poll()}. Must not be called
     * with the device's lock held.
     */
    void quiesce() {
        synchronized (availLock) {
            // barrier only: a walk entering after this sees the queue closed before it writes to the rings
        }
        if (drains.getAndIncrement() == 0) {
            drain(1, true);
        }
    }
}
