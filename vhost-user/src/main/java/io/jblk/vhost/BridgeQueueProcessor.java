package io.jblk.vhost;

import io.jblk.bridge.BlkRequestException;
import io.jblk.bridge.BlkRequestExecutor;
import io.jblk.bridge.ChainWalker;
import io.jblk.bridge.DescriptorChainException;
import io.jblk.bridge.GuestMemory;
import io.jblk.bridge.SplitVirtqueue;
import io.jblk.bridge.VirtioBlkFeatures;
import io.jblk.bridge.VirtioBlkRequest;
import io.jblk.bridge.VirtqueueException;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One running vhost-user vring over the emulator bridge's shared virtqueue code: {@link SplitVirtqueue} (resumed at
 * the front-end's vring base), {@link ChainWalker} and {@link VirtioBlkRequest} for validation and framing, and
 * {@link BlkRequestExecutor} for the block device. What is the transport's own: the worker's kick loop, publishing
 * completions with the call eventfd, the in-flight log, and stopping with a drain.
 *
 * <p>Completions arrive on the block driver's threads in any order; whichever thread finds the queue idle publishes
 * everything completed so far (one used-index update and at most one call per batch). {@link #stop()} waits until
 * every request taken from the ring is published, so GET_VRING_BASE's answer and the used ring agree.
 */
final class BridgeQueueProcessor implements QueueProcessor {
    private static final System.Logger LOG = System.getLogger("io.jblk.vhost");
    /** Guest errors logged at WARNING per ring; later ones go to DEBUG (a hostile guest cannot flood the log). */
    private static final int VERBOSE_ERRORS = 32;

    /** What a finished request leaves for the guest; {@code statusAddress} may be {@link VirtioBlkRequest#NO_STATUS}. */
    private record Completion(int head, long statusAddress, int status, BlkRequestExecutor.Reply reply) {
        static Completion failed(int head, long statusAddress, int status) {
            return new Completion(head, statusAddress, status, BlkRequestExecutor.Reply.of(0));
        }
    }

    private final int index;
    private final GuestMemory memory;
    private final SplitVirtqueue ring;
    private final ChainWalker walker;
    private final BlkRequestExecutor executor;
    private final InflightLog inflight;
    private final Runnable call;
    private final Consumer<String> broken;
    private final ConcurrentLinkedQueue<Completion> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger wip = new AtomicInteger();
    private final Object idle = new Object();
    private int inFlight; // guarded by idle
    private final AtomicLong guestErrors = new AtomicLong();
    private volatile boolean failed;

    private BridgeQueueProcessor(int index, GuestMemory memory, SplitVirtqueue ring, ChainWalker walker,
                                 BlkRequestExecutor executor, InflightLog inflight, Runnable call,
                                 Consumer<String> broken) {
        this.index = index;
        this.memory = memory;
        this.ring = ring;
        this.walker = walker;
        this.executor = executor;
        this.inflight = inflight;
        this.call = call;
        this.broken = broken;
    }

    /** The factory the server uses: rings over {@code backend}'s device, with its in-flight log when one is set. */
    static QueueProcessor.Factory factory(BlkBackend backend) {
        return (queue, memory, size, desc, avail, used, base, features, inflightLog, call, broken) -> {
            SplitVirtqueue ring;
            try {
                ring = new SplitVirtqueue(memory.guestMemory(), size, desc, avail, used,
                        VirtioBlkFeatures.has(features, VirtioBlkFeatures.RING_EVENT_IDX));
            } catch (VirtqueueException e) {
                throw new IllegalArgumentException(e.getMessage());
            }
            ring.resume(base);
            int[] resubmit = inflightLog == null ? new int[0] : inflightLog.recover(ring.usedIndex(), size);
            LOG.log(System.Logger.Level.DEBUG, "vring {0} starts: base {1}, used index {2}, in-flight log {3}", queue,
                    base, ring.usedIndex(), inflightLog != null);
            if (inflightLog != null) {
                // Everything taken from the ring is either in the used ring or still in flight (libvhost-user's
                // rule): after a back-end died, the front-end's base is its used index, and the requests in
                // flight sit right after it in the avail ring; they are resubmitted, not taken twice.
                ring.resume(ring.usedIndex() + resubmit.length);
            }
            ChainWalker walker = new ChainWalker(memory.guestMemory(),
                    VirtioBlkFeatures.has(features, VirtioBlkFeatures.RING_INDIRECT_DESC));
            // Reads go straight into guest buffers the block driver can take as they are (stageReads false): the
            // front-end's memory is shared, and nothing here needs the guest's view to change only at publication.
            BlkRequestExecutor executor = new BlkRequestExecutor(backend.device(), backend.config(),
                    backend.serial(), features, memory.guestMemory(), false);
            BridgeQueueProcessor p = new BridgeQueueProcessor(queue, memory.guestMemory(), ring, walker, executor,
                    inflightLog, call, broken);
            p.resubmit(resubmit);
            return p;
        };
    }

    /** Requests a previous back-end took from the ring and did not complete (INFLIGHT_SHMFD) run again first. */
    private void resubmit(int[] heads) {
        if (heads.length > 0) {
            LOG.log(System.Logger.Level.INFO, "vring {0}: resubmitting {1} requests left in flight by the previous"
                    + " back-end", index, heads.length);
        }
        for (int head : heads) {
            begin();
            start(head);
        }
    }

    @Override
    public void process() {
        if (failed) {
            return;
        }
        boolean owner = wip.getAndIncrement() == 0; // completions during the walk wait: one batch, one call
        try {
            while (true) {
                int head;
                while ((head = ring.nextAvailable()) >= 0) {
                    begin();
                    if (inflight != null) {
                        inflight.fetched(head);
                    }
                    start(head);
                }
                ring.enableNotifications();
                if (!ring.hasAvailable()) {
                    break;
                }
            }
        } catch (VirtqueueException e) {
            failed = true;
            broken.accept(e.getMessage());
        } finally {
            if (owner) {
                drain(1);
            }
        }
    }

    private void begin() {
        synchronized (idle) {
            inFlight++;
        }
    }

    private void start(int head) {
        try {
            VirtioBlkRequest request = VirtioBlkRequest.frame(walker.walk(ring, head), memory);
            executor.execute(request).whenComplete((reply, error) -> {
                if (error == null) {
                    complete(new Completion(head, request.statusAddress(), VirtioBlkRequest.S_OK, reply));
                } else {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null
                            ? error.getCause() : error;
                    int status = cause instanceof BlkRequestException b ? b.status() : VirtioBlkRequest.S_IOERR;
                    guestError(head, cause.toString());
                    complete(Completion.failed(head, request.statusAddress(), status));
                }
            });
        } catch (DescriptorChainException e) {
            guestError(head, e.getMessage()); // a loop, a bad index, a buffer outside guest RAM
            complete(Completion.failed(head, e.statusAddress(), VirtioBlkRequest.S_IOERR));
        } catch (BlkRequestException e) {
            guestError(head, e.getMessage()); // no status byte, a short header
            complete(Completion.failed(head, e.statusAddress(), e.status()));
        } catch (RuntimeException e) {
            // A bug here must cost one request, not the back-end, and must not stay counted in flight.
            LOG.log(System.Logger.Level.ERROR, "vring " + index + " head " + head + ": internal error", e);
            complete(Completion.failed(head, VirtioBlkRequest.NO_STATUS, VirtioBlkRequest.S_IOERR));
        }
    }

    private void guestError(int head, String what) {
        long n = guestErrors.incrementAndGet();
        System.Logger.Level level = n <= VERBOSE_ERRORS ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG;
        LOG.log(level, "vring {0} head {1}: {2}", index, head, what);
    }

    private void complete(Completion c) {
        done.add(c);
        if (wip.getAndIncrement() == 0) {
            drain(1);
        }
    }

    private void drain(int missed) {
        boolean signal = false;
        int published = 0;
        do {
            synchronized (this) {
                Completion c;
                while ((c = done.poll()) != null) {
                    c.reply().copyOut(memory); // staged read data, the GET_ID serial
                    boolean hasStatus = c.statusAddress() != VirtioBlkRequest.NO_STATUS;
                    if (hasStatus) {
                        memory.write(c.statusAddress(), MemorySegment.ofArray(new byte[] {(byte) c.status()}));
                    }
                    ring.addUsed(c.head(), c.reply().written() + (hasStatus ? 1 : 0));
                    if (inflight != null) {
                        inflight.completed(c.head());
                    }
                    published++;
                }
                if (ring.publishUsed()) {
                    signal = true;
                }
                if (inflight != null) {
                    inflight.published(ring.usedIndex());
                }
            }
            missed = wip.addAndGet(-missed);
        } while (missed != 0);
        if (signal) {
            call.run();
        }
        if (published > 0) {
            synchronized (idle) {
                inFlight -= published;
                if (inFlight == 0) {
                    idle.notifyAll();
                }
            }
        }
    }

    @Override
    public int stop() {
        boolean interrupted = false;
        synchronized (idle) {
            while (inFlight > 0) {
                try {
                    idle.wait();
                } catch (InterruptedException e) {
                    interrupted = true; // must finish: returning early would let I/O land in memory being unmapped
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return ring.nextAvailIndex();
    }
}
