package io.jblk.vhost;

import io.jblk.bridge.Descriptor;
import io.jblk.bridge.VirtioBlkFeatures;
import io.jblk.nativeio.EventFd;
import io.jblk.nativeio.MemFd;
import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.Poll;
import io.jblk.nativeio.SharedMemory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.nio.file.Path;
import java.util.List;

import static io.jblk.vhost.TestFrontEnd.singleRegion;
import static io.jblk.vhost.TestFrontEnd.u64;
import static io.jblk.vhost.TestFrontEnd.vringAddr;
import static io.jblk.vhost.TestFrontEnd.vringState;
import static io.jblk.vhost.VhostUserRequest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A test VMM and guest driver in one: it plays QEMU on the vhost-user socket (guest RAM in a memfd, kick and call
 * eventfds, the rings' user addresses at a different base than their guest-physical ones) and plays Linux's
 * virtio_blk on the rings (direct descriptor chains: header, data, status; one request at a time per queue or a
 * batch with one kick).
 */
final class VhostTestDriver implements AutoCloseable {
    static final long GPA = 0x4000_0000L;
    static final long USER = 0x7f12_3400_0000L;
    static final long RAM = 8L << 20;
    static final int QUEUE_SIZE = 64;

    final TestFrontEnd fe;
    private final NativeFd ramFd;
    private final SharedMemory ram;
    private final Ring[] rings;
    private long next = 0x10000; // bump allocator offset in RAM for data buffers
    long features;

    /** One queue: its rings in RAM, eventfds and the driver-side indices. */
    final class Ring {
        final int index;
        final long desc;
        final long avail;
        final long used;
        final EventFd kick;
        final EventFd call;
        int availIdx;
        int lastUsed;
        int nextDesc;

        Ring(int index) throws IOException {
            this.index = index;
            long base = 0x1000 + index * 0x2000L; // 64 descs = 1 KiB, avail 134 B, used 518 B
            this.desc = base;
            this.avail = base + 0x400;
            this.used = base + 0x800;
            this.kick = EventFd.create();
            this.call = EventFd.create();
        }
    }

    VhostTestDriver(Path socket, int queues, boolean eventIdx) throws IOException {
        fe = TestFrontEnd.connect(socket);
        ramFd = MemFd.create("test-guest-ram", RAM);
        ram = SharedMemory.map(ramFd, 0, RAM, true);
        rings = new Ring[queues];
        long offered = fe.getU64(GET_FEATURES);
        long protocol = fe.getU64(GET_PROTOCOL_FEATURES);
        fe.send(SET_PROTOCOL_FEATURES, u64(protocol));
        features = offered & ~(eventIdx ? 0 : VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_EVENT_IDX))
                & ~VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_INDIRECT_DESC);
        check(fe.status(SET_OWNER, new byte[0]));
        check(fe.status(SET_FEATURES, u64(features)));
        check(fe.status(ADD_MEM_REG, singleRegion(GPA, RAM, USER, 0), ramFd));
        for (int q = 0; q < queues; q++) {
            rings[q] = new Ring(q);
            start(rings[q], 0);
        }
    }

    void start(Ring r, int base) throws IOException {
        check(fe.status(SET_VRING_CALL, u64(r.index), r.call.fd()));
        check(fe.status(SET_VRING_NUM, vringState(r.index, QUEUE_SIZE)));
        check(fe.status(SET_VRING_BASE, vringState(r.index, base)));
        check(fe.status(SET_VRING_ADDR, vringAddr(r.index, 0, USER + r.desc, USER + r.used, USER + r.avail)));
        check(fe.status(SET_VRING_KICK, u64(r.index), r.kick.fd()));
        check(fe.status(SET_VRING_ENABLE, vringState(r.index, 1)));
    }

    private static void check(long status) {
        assertEquals(0, status, "the back-end accepts the request");
    }

    Ring ring(int q) {
        return rings[q];
    }

    MemorySegment mem() {
        return ram.segment();
    }

    /** Guest buffer of {@code size} bytes (bump allocated); returns its offset in RAM (gpa = GPA + offset). */
    long alloc(int size) {
        long at = (next + 511) & ~511L;
        next = at + size;
        if (next > RAM) {
            next = 0x10000;
            return alloc(size);
        }
        return at;
    }

    record Request(int head, long statusAt) {
    }

    /** Writes a chain header/data/status for one request into ring {@code r}; publishes it without a kick. */
    Request add(Ring r, int type, long sector, long dataAt, int dataLen, boolean dataWritable) {
        long hdr = alloc(16);
        long status = alloc(1);
        mem().set(Message.U32, hdr, type);
        mem().set(Message.U32, hdr + 4, 0);
        mem().set(Message.U64, hdr + 8, sector);
        mem().set(ValueLayout.JAVA_BYTE, status, (byte) 0x7f);
        List<long[]> parts = dataLen > 0
                ? List.of(new long[] {hdr, 16, 0}, new long[] {dataAt, dataLen, dataWritable ? 1 : 0},
                        new long[] {status, 1, 1})
                : List.of(new long[] {hdr, 16, 0}, new long[] {status, 1, 1});
        int head = r.nextDesc;
        for (int i = 0; i < parts.size(); i++) {
            long[] p = parts.get(i);
            int idx = (head + i) % QUEUE_SIZE;
            boolean last = i == parts.size() - 1;
            new Descriptor(GPA + p[0], (int) p[1], (p[2] == 1 ? Descriptor.F_WRITE : 0) | (last ? 0 : Descriptor.F_NEXT),
                    last ? 0 : (idx + 1) % QUEUE_SIZE).write(mem().asSlice(r.desc, 16L * QUEUE_SIZE), idx);
        }
        r.nextDesc = (head + parts.size()) % QUEUE_SIZE;
        publish(r, head);
        return new Request(head, status);
    }

    /** Puts {@code head} in the avail ring and moves the avail index (release order). */
    void publish(Ring r, int head) {
        mem().set(Message.U16, r.avail + 4 + 2L * (r.availIdx % QUEUE_SIZE), (short) head);
        VarHandle.releaseFence();
        r.availIdx = (r.availIdx + 1) & 0xFFFF;
        mem().set(Message.U16, r.avail + 2, (short) r.availIdx);
        VarHandle.fullFence();
    }

    void kick(Ring r) throws IOException {
        r.kick.signal();
    }

    /** Waits until the used index reaches the avail index (every published request is back). */
    void awaitAll(Ring r) throws IOException {
        // EVENT_IDX: ask for an interrupt once the used index moves past what was already seen (Linux's
        // virtqueue_enable_cb); without EVENT_IDX the device ignores this field.
        mem().set(Message.U16, r.avail + 4 + 2L * QUEUE_SIZE, (short) r.lastUsed);
        VarHandle.fullFence();
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (usedIdx(r) != r.availIdx) {
            assertTrue(System.nanoTime() < deadline, "ring " + r.index + ": used " + usedIdx(r) + " of "
                    + r.availIdx);
            if (Poll.readable(100, r.call.fd()) != 0) {
                r.call.await();
            }
        }
        r.lastUsed = usedIdx(r);
    }

    int usedIdx(Ring r) {
        int v = Short.toUnsignedInt(mem().get(Message.U16, r.used + 2));
        VarHandle.acquireFence();
        return v;
    }

    /** The used element at position {@code i}: {head, len}. */
    int[] usedElem(Ring r, int i) {
        long at = r.used + 4 + 8L * (i % QUEUE_SIZE);
        return new int[] {mem().get(Message.U32, at), mem().get(Message.U32, at + 4)};
    }

    int status(Request req) {
        return mem().get(ValueLayout.JAVA_BYTE, req.statusAt());
    }

    /** One request, kicked and waited for; returns its status. */
    int submit(int q, int type, long sector, long dataAt, int dataLen, boolean writable) throws IOException {
        Ring r = rings[q];
        Request req = add(r, type, sector, dataAt, dataLen, writable);
        kick(r);
        awaitAll(r);
        return status(req);
    }

    @Override
    public void close() throws IOException {
        fe.close();
        for (Ring r : rings) {
            if (r != null) {
                r.kick.close();
                r.call.close();
            }
        }
        ram.close();
        ramFd.close();
    }
}
