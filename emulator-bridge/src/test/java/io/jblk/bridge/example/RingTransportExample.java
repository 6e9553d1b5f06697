package io.jblk.bridge.example;

import io.jblk.api.BlockDevice;
import io.jblk.bridge.BlkRequestException;
import io.jblk.bridge.BlkRequestExecutor;
import io.jblk.bridge.ChainWalker;
import io.jblk.bridge.DescriptorChainException;
import io.jblk.bridge.GuestMemory;
import io.jblk.bridge.SplitVirtqueue;
import io.jblk.bridge.VirtioBlkConfig;
import io.jblk.bridge.VirtioBlkFeatures;
import io.jblk.bridge.VirtioBlkRequest;
import io.jblk.bridge.VirtqueueException;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A transport that runs one split ring itself, as a vhost-user back-end does (there the kick and the "used buffers"
 * signal are eventfds), built from the bridge's shared layers only: SplitVirtqueue, ChainWalker, VirtioBlkRequest,
 * BlkRequestExecutor and GuestMemory. One instance per queue.
 */
public final class RingTransportExample {
    private record Done(int head, long statusAddress, int status, BlkRequestExecutor.Reply reply) {
    }

    private final GuestMemory memory;
    private final SplitVirtqueue ring;
    private final ChainWalker walker;
    private final BlkRequestExecutor executor;
    private final Runnable signal;
    private final ConcurrentLinkedQueue<Done> done = new ConcurrentLinkedQueue<>();
    private final AtomicInteger inFlight = new AtomicInteger();

    /**
     * Serves a ring the driver set up at guest-physical {@code desc}/{@code avail}/{@code used}, continuing at avail
     * index {@code base} (0 for a new ring).
     *
     * @param signal tells the driver about used buffers (a call eventfd write); called with no lock held
     */
    public RingTransportExample(BlockDevice disk, GuestMemory memory, long features, int size, long desc,
                                long avail, long used, int base, Runnable signal) throws VirtqueueException {
        this.memory = memory;
        this.ring = new SplitVirtqueue(memory, size, desc, avail, used,
                VirtioBlkFeatures.has(features, VirtioBlkFeatures.RING_EVENT_IDX));
        ring.resume(base);
        this.walker = new ChainWalker(memory, VirtioBlkFeatures.has(features, VirtioBlkFeatures.RING_INDIRECT_DESC));
        VirtioBlkConfig config = VirtioBlkConfig.of(disk, 1, size, 32);
        byte[] serial = "ring-example".getBytes(StandardCharsets.US_ASCII);
        this.executor = new BlkRequestExecutor(disk, config, serial, features, memory, false);
        this.signal = signal;
    }

    /** A kick, on the queue's one worker thread: starts every available request, then re-arms notifications. */
    public void kick() throws VirtqueueException {
        do {
            int head;
            while ((head = ring.nextAvailable()) >= 0) {
                inFlight.incrementAndGet();
                start(head);
            }
            ring.enableNotifications();
        } while (ring.hasAvailable()); // published before the re-arm was visible: no kick comes for it
    }

    private void start(int head) {
        try {
            VirtioBlkRequest request = VirtioBlkRequest.frame(walker.walk(ring, head), memory);
            executor.execute(request).whenComplete((reply, error) -> finish(error == null
                    ? new Done(head, request.statusAddress(), VirtioBlkRequest.S_OK, reply)
                    : new Done(head, request.statusAddress(), statusOf(error), BlkRequestExecutor.Reply.of(0))));
        } catch (DescriptorChainException e) { // a loop, a bad index, a buffer outside guest RAM
            finish(new Done(head, e.statusAddress(), VirtioBlkRequest.S_IOERR, BlkRequestExecutor.Reply.of(0)));
        } catch (BlkRequestException e) { // no status byte, a short header
            finish(new Done(head, e.statusAddress(), e.status(), BlkRequestExecutor.Reply.of(0)));
        }
    }

    private static int statusOf(Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
        return cause instanceof BlkRequestException refused ? refused.status() : VirtioBlkRequest.S_IOERR;
    }

    /** On any thread: publishes what has completed (data, status byte, used element), then signals, unlocked. */
    private void finish(Done completed) {
        done.add(completed);
        boolean wanted;
        int published = 0;
        synchronized (done) { // addUsed and publishUsed callers must be serialised
            Done d;
            while ((d = done.poll()) != null) {
                d.reply().copyOut(memory);
                boolean hasStatus = d.statusAddress() != VirtioBlkRequest.NO_STATUS;
                if (hasStatus) {
                    memory.write(d.statusAddress(), MemorySegment.ofArray(new byte[] {(byte) d.status()}));
                }
                ring.addUsed(d.head(), d.reply().written() + (hasStatus ? 1 : 0));
                published++;
            }
            wanted = ring.publishUsed();
        }
        inFlight.addAndGet(-published);
        if (wanted) {
            signal.run();
        }
    }

    /** Requests taken from the ring and not yet in the used ring: stopping the ring waits until this is 0. */
    public int inFlight() {
        return inFlight.get();
    }

    /** The avail index the next request would come from (GET_VRING_BASE's answer once nothing is in flight). */
    public int base() {
        return ring.nextAvailIndex();
    }
}
