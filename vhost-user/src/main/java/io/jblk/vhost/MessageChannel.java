package io.jblk.vhost;

import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.UnixConnection;

import java.io.EOFException;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * vhost-user framing over one connection: reads whole messages (header, payload, descriptors) and writes replies.
 * Anything that loses the framing (a wrong version, a reply flag on a request, a payload over
 * {@link VhostUserProtocol#MAX_PAYLOAD}, more descriptors than a message can carry, end of stream inside a message)
 * is a {@link VhostUserProtocolException}; descriptors received with a refused message are closed.
 *
 * <p>Thread contract: one thread reads; replies are written by the same thread (the protocol is request/reply).
 */
final class MessageChannel {
    /** Descriptors one message may carry: SET_MEM_TABLE's 8, with room; more is refused. */
    static final int MAX_FDS = 16;

    private final UnixConnection connection;
    private final MemorySegment header;
    private final MemorySegment body;

    MessageChannel(UnixConnection connection, Arena arena) {
        this.connection = connection;
        this.header = arena.allocate(VhostUserProtocol.HEADER_SIZE);
        this.body = arena.allocate(VhostUserProtocol.MAX_PAYLOAD);
    }

    /** The next message, or null when the front-end closed the connection between messages. */
    Message read() throws IOException {
        List<NativeFd> fds = new ArrayList<>();
        try {
            if (!fill(header, fds, true)) {
                return null;
            }
            int request = header.get(Message.U32, 0);
            int flags = header.get(Message.U32, 4);
            int size = header.get(Message.U32, 8);
            if ((flags & VhostUserProtocol.VERSION_MASK) != VhostUserProtocol.VERSION) {
                throw new VhostUserProtocolException(VhostUserRequest.describe(request) + " has protocol version "
                        + (flags & VhostUserProtocol.VERSION_MASK) + " (flags 0x" + Integer.toHexString(flags)
                        + "); only version 1 exists");
            }
            if ((flags & VhostUserProtocol.FLAG_REPLY) != 0) {
                throw new VhostUserProtocolException(VhostUserRequest.describe(request)
                        + " carries the reply flag; a front-end sends requests");
            }
            if (size < 0 || size > VhostUserProtocol.MAX_PAYLOAD) {
                throw new VhostUserProtocolException(VhostUserRequest.describe(request) + " announces a payload of "
                        + Integer.toUnsignedString(size) + " bytes; at most " + VhostUserProtocol.MAX_PAYLOAD
                        + " are accepted");
            }
            MemorySegment payload = body.asSlice(0, size);
            if (size > 0 && !fill(payload, fds, false)) {
                throw new EOFException("the front-end closed the connection inside " + VhostUserRequest
                        .describe(request) + " (" + size + "-byte payload announced)");
            }
            if (fds.size() > MAX_FDS) {
                throw new VhostUserProtocolException(VhostUserRequest.describe(request) + " carries " + fds.size()
                        + " file descriptors; at most " + MAX_FDS + " are accepted");
            }
            Message m = new Message(request, flags, payload.toArray(ValueLayout.JAVA_BYTE), List.copyOf(fds));
            fds.clear();
            return m;
        } finally {
            fds.forEach(NativeFd::closeQuietly); // only left here when the message is not returned
        }
    }

    /**
     * Reads exactly {@code into.byteSize()} bytes, collecting descriptors. Returns false on end of stream before the
     * first byte when {@code eofAllowed}; end of stream later is an {@link EOFException}.
     */
    private boolean fill(MemorySegment into, List<NativeFd> fds, boolean eofAllowed) throws IOException {
        long got = 0;
        while (got < into.byteSize()) {
            UnixConnection.Received r = connection.receive(into.asSlice(got), MAX_FDS);
            fds.addAll(r.fds());
            if (r.fdsTruncated()) {
                throw new VhostUserProtocolException("the front-end sent more than " + MAX_FDS
                        + " file descriptors with one message");
            }
            if (r.bytes() == 0) {
                if (got == 0 && eofAllowed) {
                    return false;
                }
                throw new EOFException("the front-end closed the connection inside a message");
            }
            got += r.bytes();
        }
        return true;
    }

    /** Sends a reply to {@code request} with {@code payload} and {@code fds} (duplicated into the front-end). */
    void reply(Message request, byte[] payload, NativeFd... fds) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(VhostUserProtocol.HEADER_SIZE + payload.length);
            m.set(Message.U32, 0, request.request());
            m.set(Message.U32, 4, VhostUserProtocol.VERSION | VhostUserProtocol.FLAG_REPLY);
            m.set(Message.U32, 8, payload.length);
            MemorySegment.copy(payload, 0, m, ValueLayout.JAVA_BYTE, VhostUserProtocol.HEADER_SIZE, payload.length);
            connection.send(m, fds);
        }
    }

    void replyU64(Message request, long value) throws IOException {
        byte[] b = new byte[8];
        MemorySegment.ofArray(b).set(Message.U64, 0, value);
        reply(request, b);
    }
}
