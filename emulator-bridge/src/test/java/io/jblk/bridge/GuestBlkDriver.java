package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;

import static io.jblk.bridge.VirtioMmioTransport.*;

/**
 * A test guest driver for the virtio-mmio block device, modelled on Linux's virtio_mmio + virtio_blk: it resets the
 * device, negotiates features through the registers, lays out split virtqueues in guest RAM, submits requests from
 * any thread and completes them from an "interrupt handler" thread woken by the interrupt line.
 */
final class GuestBlkDriver implements AutoCloseable {
    /** Outcome of one request as the guest sees it. */
    record Result(int status, int usedLength, byte[] data) {
    }

    private record Pending(CompletableFuture<Result> future, long statusAddr, long dataAddr, int dataLength,
                           long block, long blockSize) {
    }

    final GuestRam ram;
    VirtioMmioTransport mmio;
    /** Replaced by {@link #initialize} while the interrupt handler may be walking it: copy-on-write. */
    final List<GuestQueue> queues = new CopyOnWriteArrayList<>();
    long negotiated;
    private final Map<Long, Pending> pending = new ConcurrentHashMap<>();
    final AtomicInteger interrupts = new AtomicInteger();
    final AtomicInteger configInterrupts = new AtomicInteger();
    /** Interrupt handler runs that found InterruptStatus 0 (the line was still up after the acknowledgement). */
    final AtomicLong spuriousInterrupts = new AtomicLong();
    final AtomicLong kicks = new AtomicLong();
    private final Object line = new Object();
    private boolean asserted;
    private volatile boolean running = true;
    /** When false the interrupt handler only counts interrupts; the test consumes the used rings itself. */
    volatile boolean handleInterrupts = true;
    /** Times the device asserted the interrupt line. */
    final AtomicInteger raises = new AtomicInteger();
    /** Calls of {@link InterruptLine#set} that did not change the level (the contract rules them out). */
    final AtomicInteger levelRepeats = new AtomicInteger();
    /** Breaches of the interrupt line's thread contract seen so far (the fixture fails the test on any). */
    final List<String> contractBreaches = new CopyOnWriteArrayList<>();
    /** What killed the interrupt handler thread, if anything did (the fixture fails the test with it). */
    volatile Throwable handlerFailure;
    private final AtomicInteger callsInSet = new AtomicInteger();
    private final Thread irqThread;

    GuestBlkDriver(GuestRam ram) {
        this(ram, true);
    }

    /**
     * @param irqThread whether an interrupt-handler thread serves the line; without it the emulator's CPU loop
     *                  checks {@link #lineAsserted()} and calls {@link #handleInterrupt()} itself (a single hart)
     */
    GuestBlkDriver(GuestRam ram, boolean irqThread) {
        this.ram = ram;
        this.irqThread = irqThread ? Thread.ofPlatform().daemon().name("guest-irq").start(this::irqLoop) : null;
    }

    /** The level the device last gave the interrupt line. */
    boolean lineAsserted() {
        synchronized (line) {
            return asserted;
        }
    }

    /**
     * The emulator's machine lock, when it has one (the "big lock" pattern): held around every register access, as
     * a vCPU thread holds it while it runs, and taken inside {@link InterruptLine#set}, as an interrupt controller
     * guarded by the same lock does. Null: accesses are not serialised.
     */
    volatile Lock machineLock;

    /** The emulator side of the interrupt line: wakes the handler thread while asserted. */
    InterruptLine interruptLine() {
        return level -> {
            Lock machine = machineLock;
            if (machine == null) {
                setLevel(level);
            } else {
                machine.lock();
                try {
                    setLevel(level);
                } finally {
                    machine.unlock();
                }
            }
        };
    }

    private void setLevel(boolean level) {
        checkCaller();
        if (callsInSet.incrementAndGet() != 1) {
            contractBreaches.add("InterruptLine.set calls overlapped");
        }
        try {
            recordLevel(level);
        } finally {
            callsInSet.decrementAndGet();
        }
    }

    /** The thread contract of {@link InterruptLine}: never on a block driver's thread, never under a jblk lock. */
    private void checkCaller() {
        String name = Thread.currentThread().getName();
        if (name.startsWith("jblk-") && !name.startsWith("jblk-virtio-")) {
            contractBreaches.add("InterruptLine.set on block driver thread " + name);
        }
        VirtioMmioTransport m = mmio;
        if (m != null && (Thread.holdsLock(m) || Thread.holdsLock(m.device()))) {
            contractBreaches.add("InterruptLine.set under a lock of the device, on " + name);
        }
    }

    private void recordLevel(boolean level) {
        synchronized (line) {
            if (level == asserted) {
                levelRepeats.incrementAndGet(); // the contract says set() is called only on a change
            }
            asserted = level;
            if (level) {
                raises.incrementAndGet();
            }
            line.notifyAll();
        }
    }

    void attach(VirtioMmioTransport transport) {
        this.mmio = transport;
    }

    int reg(int offset) {
        return (int) mmioRead(offset, 4);
    }

    void reg(int offset, long value) {
        Lock machine = machineLock;
        if (machine == null) {
            mmio.write(offset, 4, value);
        } else {
            machine.lock();
            try {
                mmio.write(offset, 4, value);
            } finally {
                machine.unlock();
            }
        }
    }

    /** One MMIO read as the emulator's bus dispatches it (under the machine lock when there is one). */
    long mmioRead(int offset, int size) {
        Lock machine = machineLock;
        if (machine == null) {
            return mmio.read(offset, size);
        }
        machine.lock();
        try {
            return mmio.read(offset, size);
        } finally {
            machine.unlock();
        }
    }

    long deviceFeatures() {
        reg(DEVICE_FEATURES_SEL, 0);
        long low = Integer.toUnsignedLong(reg(DEVICE_FEATURES));
        reg(DEVICE_FEATURES_SEL, 1);
        return low | ((long) reg(DEVICE_FEATURES) << 32);
    }

    /**
     * Linux's probe sequence: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK (checked), queues, DRIVER_OK.
     *
     * @return false when the device refused FEATURES_OK
     */
    boolean initialize(long wanted, int queueCount, int queueSize) {
        return initialize(wanted, queueCount, queueSize, false);
    }

    /** @param insist accept {@code wanted} as is, even bits the device does not offer (a buggy driver) */
    boolean initialize(long wanted, int queueCount, int queueSize, boolean insist) {
        if (reg(MAGIC_VALUE) != MAGIC || reg(VERSION) != 2 || reg(DEVICE_ID) != VIRTIO_ID_BLOCK) {
            throw new AssertionError("not a virtio-mmio v2 block device");
        }
        reg(STATUS, 0);
        queues.clear();
        pending.values().forEach(p -> p.future().completeExceptionally(new IllegalStateException("device reset")));
        pending.clear();
        reg(STATUS, DeviceStatus.ACKNOWLEDGE);
        reg(STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        negotiated = insist ? wanted : wanted & deviceFeatures();
        reg(DRIVER_FEATURES_SEL, 0);
        reg(DRIVER_FEATURES, negotiated & 0xFFFF_FFFFL);
        reg(DRIVER_FEATURES_SEL, 1);
        reg(DRIVER_FEATURES, negotiated >>> 32);
        int status = DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK;
        reg(STATUS, status);
        if ((reg(STATUS) & DeviceStatus.FEATURES_OK) == 0) {
            reg(STATUS, status | DeviceStatus.FAILED);
            return false;
        }
        boolean eventIdx = VirtioBlkFeatures.has(negotiated, VirtioBlkFeatures.RING_EVENT_IDX);
        for (int q = 0; q < queueCount; q++) {
            reg(QUEUE_SEL, q);
            if (reg(QUEUE_READY) != 0) {
                throw new AssertionError("queue " + q + " ready before setup");
            }
            int max = reg(QUEUE_NUM_MAX);
            if (max < queueSize) {
                throw new AssertionError("queue " + q + " max " + max + " < " + queueSize);
            }
            GuestQueue gq = new GuestQueue(ram, q, queueSize, eventIdx);
            reg(QUEUE_NUM, queueSize);
            reg(QUEUE_DESC_LOW, gq.desc & 0xFFFF_FFFFL);
            reg(QUEUE_DESC_HIGH, gq.desc >>> 32);
            reg(QUEUE_DRIVER_LOW, gq.avail & 0xFFFF_FFFFL);
            reg(QUEUE_DRIVER_HIGH, gq.avail >>> 32);
            reg(QUEUE_DEVICE_LOW, gq.used & 0xFFFF_FFFFL);
            reg(QUEUE_DEVICE_HIGH, gq.used >>> 32);
            reg(QUEUE_READY, 1);
            queues.add(gq);
        }
        reg(STATUS, status | DeviceStatus.DRIVER_OK);
        return true;
    }

    /** Read of config space like virtio_cread: retried while the generation changes. */
    long config(int offset, int size) {
        long value;
        int gen;
        do {
            gen = reg(CONFIG_GENERATION);
            value = mmioRead(CONFIG + offset, size);
        } while (gen != reg(CONFIG_GENERATION));
        return value;
    }

    // ---- request helpers --------------------------------------------------------------------------------------

    /** Submits a read of {@code length} bytes at {@code sector}, data split into {@code splits} segments. */
    CompletableFuture<Result> read(int queue, long sector, int length, int splits, boolean indirect) {
        return request(queue, VirtioBlkRequest.T_IN, sector, null, length, splits, indirect);
    }

    CompletableFuture<Result> write(int queue, long sector, byte[] data, int splits, boolean indirect) {
        return request(queue, VirtioBlkRequest.T_OUT, sector, data, 0, splits, indirect);
    }

    CompletableFuture<Result> flush(int queue) {
        return request(queue, VirtioBlkRequest.T_FLUSH, 0, null, 0, 1, false);
    }

    CompletableFuture<Result> getId(int queue) {
        return request(queue, VirtioBlkRequest.T_GET_ID, 0, null, VirtioBlkDevice.SERIAL_BYTES, 1, false);
    }

    /** DISCARD or WRITE_ZEROES with one segment per {@code {sector, count, flags}} triple. */
    CompletableFuture<Result> ranges(int queue, int type, long[][] segments, boolean indirect) {
        MemorySegment payload = MemorySegment.ofArray(new byte[16 * segments.length]);
        for (int i = 0; i < segments.length; i++) {
            payload.set(LittleEndian.U64, 16L * i, segments[i][0]);
            payload.set(LittleEndian.U32, 16L * i + 8, (int) segments[i][1]);
            payload.set(LittleEndian.U32, 16L * i + 12, (int) segments[i][2]);
        }
        return request(queue, type, 0, payload.toArray(ValueLayout.JAVA_BYTE), 0, 1, indirect);
    }

    /** Any request: header, readable {@code out} data or {@code inLength} writable bytes, status. */
    CompletableFuture<Result> request(int queue, int type, long sector, byte[] out, int inLength, int splits,
                                      boolean indirect) {
        int dataLength = out != null ? out.length : inLength;
        long blockSize = 4096L + dataLength; // data page-aligned, as a guest's page-cache pages are
        long block = ram.allocPooled(blockSize);
        long header = block;
        long status = block + 16;
        long data = dataLength > 0 ? block + 4096 : 0;
        MemorySegment h = ram.at(header, 16);
        h.set(LittleEndian.U32, 0, type);
        h.set(LittleEndian.U32, 4, 0);
        h.set(LittleEndian.U64, 8, sector);
        ram.at(status, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) 0xFF);
        if (out != null && out.length > 0) {
            MemorySegment.copy(out, 0, ram.at(data, out.length), ValueLayout.JAVA_BYTE, 0, out.length);
        }
        List<GuestQueue.Segment> segs = new ArrayList<>();
        segs.add(new GuestQueue.Segment(header, 16, false));
        if (dataLength > 0) {
            int pieces = Math.max(1, Math.min(splits, dataLength));
            int at = 0;
            for (int i = 0; i < pieces; i++) {
                int len = i == pieces - 1 ? dataLength - at : dataLength / pieces;
                segs.add(new GuestQueue.Segment(data + at, len, out == null));
                at += len;
            }
        }
        segs.add(new GuestQueue.Segment(status, 1, true));
        return submit(queue, segs, indirect, new Pending(null, status, out == null ? data : 0,
                out == null ? dataLength : 0, block, blockSize));
    }

    /** Submits a chain; the future completes from the interrupt handler. */
    CompletableFuture<Result> submit(int queue, List<GuestQueue.Segment> segs, boolean indirect, long statusAddr) {
        return submit(queue, segs, indirect, new Pending(null, statusAddr, 0, 0, 0, 0));
    }

    private CompletableFuture<Result> submit(int queue, List<GuestQueue.Segment> segs, boolean indirect,
                                             Pending template) {
        GuestQueue q = queues.get(queue);
        CompletableFuture<Result> f = new CompletableFuture<>();
        synchronized (q) {
            int head;
            long deadline = System.nanoTime() + 60_000_000_000L; // safety net against a test deadlock, not timing
            while ((head = q.add(segs, indirect)) < 0) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("queue " + queue + " stayed full");
                }
                poll(q); // ring full: reclaim what completed (a real driver would sleep on the interrupt)
                Thread.onSpinWait();
            }
            pending.put(key(queue, head), new Pending(f, template.statusAddr(), template.dataAddr(),
                    template.dataLength(), template.block(), template.blockSize()));
            // add() already published; order matters: pending must be registered before the kick
        }
        kick(q);
        return f;
    }

    /** Publishes a hand-written head (descriptors already in the table) and kicks. */
    CompletableFuture<Result> submitRaw(int queue, int head, long statusAddr) {
        GuestQueue q = queues.get(queue);
        CompletableFuture<Result> f = new CompletableFuture<>();
        synchronized (q) {
            pending.put(key(queue, head), new Pending(f, statusAddr, 0, 0, 0, 0));
            q.publish(head);
        }
        kick(q);
        return f;
    }

    void kick(GuestQueue q) {
        if (q.kickPrepare()) {
            kicks.incrementAndGet();
            reg(QUEUE_NOTIFY, q.index);
        }
    }

    private static long key(int queue, int head) {
        return ((long) queue << 32) | head;
    }

    private void irqLoop() {
        int seen = 0;
        while (running) {
            synchronized (line) {
                // Level-triggered: handle while asserted. When not handling, just notice each rise.
                while (running && !(handleInterrupts ? asserted : raises.get() != seen)) {
                    try {
                        line.wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                seen = raises.get();
            }
            if (!running || mmio == null || !handleInterrupts) {
                continue;
            }
            try {
                if (handleInterrupt() == 0) {
                    spuriousInterrupts.incrementAndGet();
                    Thread.yield(); // spurious (the line drops a moment after the acknowledgement): let it settle
                }
            } catch (RuntimeException | Error e) {
                handlerFailure = e; // reported by the fixture: a dead handler would otherwise look like a hang
                throw e;
            }
        }
    }

    /** Waits (bounded: a safety net, not a timing assertion) until the device has set the line to {@code level}. */
    void awaitLine(boolean level) throws InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        synchronized (line) {
            while (asserted != level) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("interrupt line still " + asserted + " after 60 s");
                }
                line.wait(left / 1_000_000 + 1);
            }
        }
    }

    /**
     * Linux's vm_interrupt: read and acknowledge the interrupt status, then complete what the used rings hold.
     *
     * @return the interrupt status read (0: a spurious interrupt)
     */
    int handleInterrupt() {
        int isr = reg(INTERRUPT_STATUS);
        reg(INTERRUPT_ACK, isr);
        if ((isr & INT_USED_BUFFER) != 0) {
            interrupts.incrementAndGet();
        }
        if ((isr & INT_CONFIG) != 0) {
            configInterrupts.incrementAndGet();
        }
        for (GuestQueue q : queues) { // a snapshot: initialize() may be replacing the queues meanwhile
            poll(q);
        }
        return isr;
    }

    /** Consumes the used ring and completes the requests (virtblk_done). */
    void poll(GuestQueue q) {
        List<GuestQueue.Used> done = new ArrayList<>();
        List<Pending> owners = new ArrayList<>();
        synchronized (q) {
            do {
                for (GuestQueue.Used u : q.takeUsed()) {
                    // Claimed under the queue lock: once freed, the head may be reused by the next submission.
                    done.add(u);
                    owners.add(pending.remove(key(q.index, u.head())));
                }
                q.setUsedEvent(q.lastUsed()); // virtqueue_enable_cb: interrupt for the next completion
            } while (q.usedIdxInRing() != q.lastUsed());
        }
        for (int i = 0; i < done.size(); i++) {
            GuestQueue.Used u = done.get(i);
            Pending p = owners.get(i);
            if (p == null) {
                continue;
            }
            int status = p.statusAddr() == 0 ? -1 : Byte.toUnsignedInt(ram.at(p.statusAddr(), 1)
                    .get(ValueLayout.JAVA_BYTE, 0));
            byte[] data = p.dataLength() == 0 ? new byte[0]
                    : ram.at(p.dataAddr(), p.dataLength()).toArray(ValueLayout.JAVA_BYTE);
            if (p.block() != 0) {
                ram.free(p.block(), p.blockSize());
            }
            p.future().complete(new Result(status, u.length(), data));
        }
    }

    /** Guest-physical addresses of the status bytes of requests not yet completed. */
    List<Long> pendingStatusAddresses() {
        return pending.values().stream().map(Pending::statusAddr).toList();
    }

    int pendingCount() {
        return pending.size();
    }

    @Override
    public void close() {
        running = false;
        synchronized (line) {
            line.notifyAll();
        }
        try {
            if (irqThread != null) {
                irqThread.join();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
