package io.jblk.vhost;

import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.UnixConnection;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A vhost-user front-end written for tests, after the spec and the message order QEMU 7.2 was seen to use: raw
 * messages (well-formed or not) over a real unix socket, with descriptors, and the replies read back.
 */
final class TestFrontEnd implements AutoCloseable {
    static final int NEED_REPLY = VhostUserProtocol.VERSION | VhostUserProtocol.FLAG_NEED_REPLY;

    private final UnixConnection connection;

    private TestFrontEnd(UnixConnection connection) {
        this.connection = connection;
    }

    static TestFrontEnd connect(Path socket) throws IOException {
        return new TestFrontEnd(UnixConnection.connect(socket));
    }

    record Reply(int request, int flags, byte[] payload) {
        long u64() {
            assertEquals(8, payload.length, "u64 reply");
            return MemorySegment.ofArray(payload).get(Message.U64, 0);
        }

        int u32(int offset) {
            return MemorySegment.ofArray(payload).get(Message.U32, offset);
        }
    }

    /** Sends one message with arbitrary header fields. */
    void sendRaw(int request, int flags, int size, byte[] payload, NativeFd... fds) throws IOException {
        byte[] m = new byte[VhostUserProtocol.HEADER_SIZE + payload.length];
        MemorySegment s = MemorySegment.ofArray(m);
        s.set(Message.U32, 0, request);
        s.set(Message.U32, 4, flags);
        s.set(Message.U32, 8, size);
        System.arraycopy(payload, 0, m, VhostUserProtocol.HEADER_SIZE, payload.length);
        connection.send(m, fds);
    }

    void send(VhostUserRequest r, byte[] payload, NativeFd... fds) throws IOException {
        sendRaw(r.code, VhostUserProtocol.VERSION, payload.length, payload, fds);
    }

    /** Sends with need_reply set and returns the reply (the REPLY_ACK status or the request's own reply). */
    Reply call(VhostUserRequest r, byte[] payload, NativeFd... fds) throws IOException {
        sendRaw(r.code, NEED_REPLY, payload.length, payload, fds);
        return read();
    }

    /** A request that has a reply of its own (GET_*), sent without need_reply. */
    Reply get(VhostUserRequest r, byte[] payload) throws IOException {
        send(r, payload);
        return read();
    }

    long getU64(VhostUserRequest r) throws IOException {
        return get(r, new byte[0]).u64();
    }

    /** The REPLY_ACK status of a request sent with need_reply. */
    long status(VhostUserRequest r, byte[] payload, NativeFd... fds) throws IOException {
        Reply reply = call(r, payload, fds);
        assertEquals(r.code, reply.request(), "reply to " + r);
        return reply.u64();
    }

    /** The REPLY_ACK status of a request given by number (unknown numbers included). */
    long statusRaw(int request, byte[] payload, NativeFd... fds) throws IOException {
        sendRaw(request, NEED_REPLY, payload.length, payload, fds);
        Reply reply = read();
        assertEquals(request, reply.request(), "reply to request " + request);
        return reply.u64();
    }

    Reply read() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment header = arena.allocate(VhostUserProtocol.HEADER_SIZE);
            if (!fill(header)) {
                throw new java.io.EOFException("the back-end closed the connection");
            }
            int size = header.get(Message.U32, 8);
            MemorySegment payload = arena.allocate(Math.max(1, size)).asSlice(0, size);
            if (size > 0 && !fill(payload)) {
                throw new java.io.EOFException("the back-end closed the connection inside a reply");
            }
            return new Reply(header.get(Message.U32, 0), header.get(Message.U32, 4),
                    payload.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** Whether the back-end closed the connection (reads until end of stream; fails on unexpected bytes). */
    boolean closedByBackEnd() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return connection.receive(arena.allocate(64), 0).bytes() == 0;
        }
    }

    private boolean fill(MemorySegment into) throws IOException {
        long got = 0;
        while (got < into.byteSize()) {
            UnixConnection.Received r = connection.receive(into.asSlice(got), 0);
            if (r.bytes() == 0) {
                return false;
            }
            got += r.bytes();
        }
        return true;
    }

    static byte[] u64(long v) {
        byte[] b = new byte[8];
        MemorySegment.ofArray(b).set(Message.U64, 0, v);
        return b;
    }

    static byte[] vringState(int index, int num) {
        byte[] b = new byte[8];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(Message.U32, 0, index);
        s.set(Message.U32, 4, num);
        return b;
    }

    static byte[] vringAddr(int index, int flags, long desc, long used, long avail) {
        byte[] b = new byte[40];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(Message.U32, 0, index);
        s.set(Message.U32, 4, flags);
        s.set(Message.U64, 8, desc);
        s.set(Message.U64, 16, used);
        s.set(Message.U64, 24, avail);
        return b;
    }

    /** ADD_MEM_REG / REM_MEM_REG payload: padding u64, then one region. */
    static byte[] singleRegion(long guest, long size, long user, long offset) {
        byte[] b = new byte[40];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(Message.U64, 8, guest);
        s.set(Message.U64, 16, size);
        s.set(Message.U64, 24, user);
        s.set(Message.U64, 32, offset);
        return b;
    }

    /** SET_MEM_TABLE payload: count u32, padding u32, regions of {guest, size, user, offset}. */
    static byte[] memTable(long[]... regions) {
        byte[] b = new byte[8 + 32 * regions.length];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(Message.U32, 0, regions.length);
        for (int i = 0; i < regions.length; i++) {
            for (int j = 0; j < 4; j++) {
                s.set(Message.U64, 8 + 32L * i + 8L * j, regions[i][j]);
            }
        }
        return b;
    }

    static byte[] configRequest(int offset, int size) {
        byte[] b = new byte[12 + size];
        MemorySegment s = MemorySegment.ofArray(b);
        s.set(Message.U32, 0, offset);
        s.set(Message.U32, 4, size);
        return b;
    }

    void shutdown() {
        connection.shutdown();
    }

    /** No more requests: the back-end reads end of stream after the ones sent, and answers them first. */
    void finishSending() {
        connection.shutdownOutput();
    }

    @Override
    public void close() throws IOException {
        connection.close();
    }
}
