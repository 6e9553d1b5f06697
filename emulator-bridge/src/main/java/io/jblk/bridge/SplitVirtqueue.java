package io.jblk.bridge;

import java.lang.invoke.VarHandle;

/**
 * The device side of one split virtqueue: descriptor table, avail (driver) ring and used (device) ring in guest
 * memory, with free-running 16-bit indices and optional EVENT_IDX notification suppression. Transport-independent:
 * it knows guest memory and the ring layout, nothing about registers or interrupts.
 *
 * <p>Layouts (spec "Split Virtqueues"): avail = {@code flags u16, idx u16, ring[N] u16, used_event u16}; used =
 * {@code flags u16, idx u16, ring[N] {id u32, len u32}, avail_event u16}.
 *
 * <p>Ordering: the avail index is read, then an acquire fence keeps the ring and descriptor reads after it; used
 * elements are written, then a release fence keeps them before the used index store; a full fence separates that
 * store from reading the guest's suppression fields, so an interrupt is never lost. Not thread-safe: the owner
 * serialises {@link #nextAvailable} callers and, separately, {@link #addUsed}/{@link #publishUsed} callers.
 *
 * <p>Shared by every transport: {@link VirtioBlkDevice} builds one per ready queue; a transport that runs rings
 * itself (vhost-user) builds one from the front-end's ring addresses and {@link #resume}s it at the vring base.
 */
public final class SplitVirtqueue {
    public static final int MAX_SIZE = 32768;
    static final int AVAIL_F_NO_INTERRUPT = 1;

    private final int size;
    private final GuestRange descriptors;
    private final GuestRange avail;
    private final GuestRange used;
    private final boolean eventIdx;

    private int lastAvail;      // next avail index to consume (free-running, kept in 16 bits)
    private int usedIdx;        // next used index to publish
    private int publishedUsed;  // used index visible to the guest
    private int signalledUsed;  // used index when the guest was last interrupted

    /**
     * Checks the queue's geometry against guest memory and binds to it.
     *
     * @throws VirtqueueException when the size is not a power of two in [1, 32768], an address is misaligned, or
     *                            a ring is not wholly inside guest RAM
     */
    public SplitVirtqueue(GuestMemory memory, int size, long descAddr, long availAddr, long usedAddr,
                          boolean eventIdx) throws VirtqueueException {
        if (size < 1 || size > MAX_SIZE || Integer.bitCount(size) != 1) {
            throw new VirtqueueException("queue size " + size + " is not a power of two in [1, " + MAX_SIZE + "]");
        }
        if ((descAddr & 15) != 0 || (availAddr & 1) != 0 || (usedAddr & 3) != 0) {
            throw new VirtqueueException("misaligned ring: desc 0x" + Long.toHexString(descAddr) + " avail 0x"
                    + Long.toHexString(availAddr) + " used 0x" + Long.toHexString(usedAddr));
        }
        try {
            this.descriptors = GuestRange.of(memory, descAddr, (long) size * Descriptor.SIZE);
            this.avail = GuestRange.of(memory, availAddr, 6 + 2L * size);
            this.used = GuestRange.of(memory, usedAddr, 6 + 8L * size);
        } catch (GuestMemoryException e) {
            throw new VirtqueueException("queue rings do not fit in guest memory: " + e.getMessage());
        }
        this.size = size;
        this.eventIdx = eventIdx;
    }

    public int size() {
        return size;
    }

    /** The descriptor table, for {@link ChainWalker}. */
    GuestRange descriptors() {
        return descriptors;
    }

    /**
     * The head of the next available chain, or -1 when the driver has published nothing new.
     *
     * @throws VirtqueueException when the avail index runs more than the queue size ahead of the device
     */
    public int nextAvailable() throws VirtqueueException {
        int availIdx = avail.u16(2);
        VarHandle.acquireFence();
        int pending = (availIdx - lastAvail) & 0xFFFF;
        if (pending == 0) {
            return -1;
        }
        if (pending > size) {
            throw new VirtqueueException("avail index " + availIdx + " is " + pending + " ahead of the device's "
                    + lastAvail + ", more than the queue size " + size);
        }
        int head = avail.u16(4 + 2L * (lastAvail % size));
        lastAvail = (lastAvail + 1) & 0xFFFF;
        return head;
    }

    /** Whether the driver has published chains not yet consumed (an avail index past the device's). */
    public boolean hasAvailable() {
        int availIdx = avail.u16(2);
        VarHandle.acquireFence();
        return availIdx != lastAvail;
    }

    /**
     * Re-arms driver notifications before the device stops polling. With EVENT_IDX it asks to be kicked once the
     * driver publishes past what was consumed; the caller must poll once more afterwards (the driver may have
     * published before seeing this).
     */
    public void enableNotifications() {
        if (eventIdx) {
            used.setU16(4 + 8L * size, lastAvail);
        }
        VarHandle.fullFence();
    }

    /** Writes one used element; it becomes visible to the guest with the next {@link #publishUsed}. */
    public void addUsed(int head, int writtenBytes) {
        long at = 4 + 8L * (usedIdx % size);
        used.setU32(at, head);
        used.setU32(at + 4, writtenBytes);
        usedIdx = (usedIdx + 1) & 0xFFFF;
    }

    /**
     * Publishes the used elements added so far and says whether the guest wants an interrupt for them, following
     * the guest's used_event (EVENT_IDX) or its NO_INTERRUPT flag.
     */
    public boolean publishUsed() {
        if (usedIdx == publishedUsed) {
            return false;
        }
        VarHandle.releaseFence();
        used.setU16(2, usedIdx);
        publishedUsed = usedIdx;
        VarHandle.fullFence();
        if (eventIdx) {
            int usedEvent = avail.u16(4 + 2L * size);
            boolean need = needEvent(usedEvent, usedIdx, signalledUsed);
            signalledUsed = usedIdx;
            return need;
        }
        return (avail.u16(0) & AVAIL_F_NO_INTERRUPT) == 0;
    }

    /**
     * Continues a ring the driver set up earlier instead of starting it fresh (a new device starts at avail index 0
     * and used index 0): the device next consumes avail index {@code nextAvail} (a vhost-user front-end's vring
     * base, SET_VRING_BASE) and adds used elements after the used index already in guest memory. Call it once,
     * right after construction and before the first {@link #nextAvailable}. (It reads the used index through guest
     * memory: a failing {@link GuestMemory} implementation's RuntimeException passes through.)
     */
    public void resume(int nextAvail) {
        lastAvail = nextAvail & 0xFFFF;
        int usedInGuest = used.u16(2);
        usedIdx = usedInGuest;
        publishedUsed = usedInGuest;
        signalledUsed = usedInGuest;
    }

    /** The next avail index the device will consume (the "vring base" a vhost-user front-end asks for). */
    public int nextAvailIndex() {
        return lastAvail;
    }

    /** The used index published to the guest. */
    public int usedIndex() {
        return publishedUsed;
    }

    /** The spec's {@code vring_need_event}: has {@code newIdx} moved past {@code event} since {@code oldIdx}? */
    public static boolean needEvent(int event, int newIdx, int oldIdx) {
        return ((newIdx - event - 1) & 0xFFFF) < ((newIdx - oldIdx) & 0xFFFF);
    }
}
