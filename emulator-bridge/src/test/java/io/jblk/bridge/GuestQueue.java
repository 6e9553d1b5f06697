package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.VarHandle;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * The driver side of one split virtqueue, written the way Linux's virtio_ring does it: a free list of descriptors,
 * avail ring publication with a release fence before the index, kick suppression (EVENT_IDX or NO_NOTIFY), and used
 * ring consumption with an acquire fence after reading the index.
 */
final class GuestQueue {
    record Segment(long address, int length, boolean writable) {
    }

    record Used(int head, int length) {
    }

    final int index;
    final int size;
    final long desc;
    final long avail;
    final long used;
    private final GuestRam ram;
    private final boolean eventIdx;
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final int[] chainLength;
    private final long[] indirectTable;
    private int availIdx;
    private int kickedAt;
    private int lastUsed;

    GuestQueue(GuestRam ram, int index, int size, boolean eventIdx) {
        this.ram = ram;
        this.index = index;
        this.size = size;
        this.eventIdx = eventIdx;
        this.desc = ram.alloc(16L * size, 16);
        this.avail = ram.alloc(6 + 2L * size, 2);
        this.used = ram.alloc(6 + 8L * size, 4);
        this.chainLength = new int[size];
        this.indirectTable = new long[size];
        for (int i = 0; i < size; i++) {
            free.add(i);
        }
    }

    synchronized int freeDescriptors() {
        return free.size();
    }

    MemorySegment descTable() {
        return ram.at(desc, 16L * size);
    }

    /** Adds a chain (in an indirect table when {@code indirect}); returns its head, or -1 when the ring is full. */
    synchronized int add(List<Segment> segments, boolean indirect) {
        int needed = indirect ? 1 : segments.size();
        if (free.size() < needed) {
            return -1;
        }
        int head;
        if (indirect) {
            long table = ram.alloc(16L * segments.size(), 16);
            MemorySegment t = ram.at(table, 16L * segments.size());
            for (int i = 0; i < segments.size(); i++) {
                Segment s = segments.get(i);
                boolean last = i == segments.size() - 1;
                new Descriptor(s.address(), s.length(), (s.writable() ? Descriptor.F_WRITE : 0)
                        | (last ? 0 : Descriptor.F_NEXT), last ? 0 : i + 1).write(t, i);
            }
            head = free.poll();
            new Descriptor(table, 16 * segments.size(), Descriptor.F_INDIRECT, 0).write(descTable(), head);
        } else {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < needed; i++) {
                ids.add(free.poll());
            }
            for (int i = 0; i < needed; i++) {
                Segment s = segments.get(i);
                boolean last = i == needed - 1;
                new Descriptor(s.address(), s.length(), (s.writable() ? Descriptor.F_WRITE : 0)
                        | (last ? 0 : Descriptor.F_NEXT), last ? 0 : ids.get(i + 1)).write(descTable(), ids.get(i));
            }
            head = ids.getFirst();
        }
        chainLength[head] = needed;
        publish(head);
        return head;
    }

    /** Takes {@code n} descriptors off the free list for a hand-written (possibly malformed) chain. */
    synchronized int[] reserve(int n) {
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) {
            ids[i] = free.poll();
        }
        return ids;
    }

    /** Publishes {@code head} in the avail ring (release: descriptors before the index). */
    synchronized void publish(int head) {
        MemorySegment a = ram.at(avail, 6 + 2L * size);
        a.set(LittleEndian.U16, 4 + 2L * (availIdx % size), (short) head);
        availIdx = (availIdx + 1) & 0xFFFF;
        VarHandle.releaseFence();
        a.set(LittleEndian.U16, 2, (short) availIdx);
    }

    /**
     * Continues this ring as if a previous device had already served {@code index} chains (what a vhost-user
     * back-end taking over a running queue finds): avail and used indices at {@code index}, nothing outstanding.
     */
    synchronized void continueAt(int index) {
        availIdx = index & 0xFFFF;
        kickedAt = availIdx;
        lastUsed = availIdx;
        ram.at(avail, 4).set(LittleEndian.U16, 2, (short) index);
        ram.at(used, 4).set(LittleEndian.U16, 2, (short) index);
        VarHandle.fullFence();
    }

    /** Sets the avail index directly (to test a guest that publishes garbage). */
    synchronized void forceAvailIdx(int value) {
        VarHandle.releaseFence();
        ram.at(avail, 4).set(LittleEndian.U16, 2, (short) value);
    }

    /** Whether the device wants a kick for what was published since the last kick (Linux virtqueue_kick_prepare). */
    synchronized boolean kickPrepare() {
        VarHandle.fullFence();
        MemorySegment u = ram.at(used, 6 + 8L * size);
        boolean need;
        if (eventIdx) {
            int availEvent = Short.toUnsignedInt(u.get(LittleEndian.U16, 4 + 8L * size));
            need = SplitVirtqueue.needEvent(availEvent, availIdx, kickedAt);
        } else {
            need = (u.get(LittleEndian.U16, 0) & 1) == 0;
        }
        kickedAt = availIdx;
        return need;
    }

    /** Used elements published since the last call; their descriptors return to the free list. */
    synchronized List<Used> takeUsed() {
        MemorySegment u = ram.at(used, 6 + 8L * size);
        int usedIdx = Short.toUnsignedInt(u.get(LittleEndian.U16, 2));
        VarHandle.acquireFence();
        List<Used> result = new ArrayList<>();
        while (lastUsed != usedIdx) {
            long at = 4 + 8L * (lastUsed % size);
            int head = u.get(LittleEndian.U32, at);
            int len = u.get(LittleEndian.U32, at + 4);
            result.add(new Used(head, len));
            freeChain(head);
            lastUsed = (lastUsed + 1) & 0xFFFF;
        }
        return result;
    }

    private void freeChain(int head) {
        if (head < 0 || head >= size || chainLength[head] == 0) {
            return; // hand-written chain: the test manages its descriptors
        }
        int id = head;
        int n = chainLength[head];
        chainLength[head] = 0;
        for (int i = 0; i < n; i++) {
            Descriptor d = Descriptor.read(descTable(), id);
            free.add(id);
            id = d.next();
        }
    }

    /** Asks for an interrupt only once the used index passes {@code usedIdx} (EVENT_IDX), or sets/clears NO_INTERRUPT. */
    synchronized void setUsedEvent(int usedIdx) {
        ram.at(avail, 6 + 2L * size).set(LittleEndian.U16, 4 + 2L * size, (short) usedIdx);
        VarHandle.fullFence();
    }

    synchronized void setNoInterrupt(boolean value) {
        ram.at(avail, 2).set(LittleEndian.U16, 0, (short) (value ? 1 : 0));
        VarHandle.fullFence();
    }

    synchronized int lastUsed() {
        return lastUsed;
    }

    synchronized int availIdx() {
        return availIdx;
    }

    int usedIdxInRing() {
        int v = Short.toUnsignedInt(ram.at(used, 4).get(LittleEndian.U16, 2));
        VarHandle.acquireFence();
        return v;
    }

    int availEventInRing() {
        return Short.toUnsignedInt(ram.at(used, 6 + 8L * size).get(LittleEndian.U16, 4 + 8L * size));
    }
}
