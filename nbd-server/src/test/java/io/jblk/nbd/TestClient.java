package io.jblk.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A hand-driven NBD client for protocol tests: it sends exactly the bytes a test asks for, including wrong ones,
 * and parses what comes back without judging it (the tests do).
 */
final class TestClient implements AutoCloseable {
    final SocketChannel ch;
    int handshakeFlags;

    TestClient(SocketAddress address) throws IOException {
        ch = address instanceof UnixDomainSocketAddress ? SocketChannel.open(java.net.StandardProtocolFamily.UNIX)
                : SocketChannel.open();
        ch.connect(address);
    }

    /** Reads the greeting and checks its magic numbers. */
    TestClient greet() throws IOException {
        ByteBuffer g = read(18);
        assertEquals(Nbd.NBDMAGIC, g.getLong());
        assertEquals(Nbd.IHAVEOPT, g.getLong());
        handshakeFlags = Short.toUnsignedInt(g.getShort());
        return this;
    }

    TestClient clientFlags(int flags) throws IOException {
        write(ByteBuffer.allocate(4).putInt(flags).flip());
        return this;
    }

    void option(int option, ByteBuffer data) throws IOException {
        write(ByteBuffer.allocate(16 + data.remaining()).putLong(Nbd.IHAVEOPT).putInt(option)
                .putInt(data.remaining()).put(data).flip());
    }

    record OptReply(int option, int type, ByteBuffer data) {
        String text() {
            return StandardCharsets.UTF_8.decode(data.duplicate()).toString();
        }
    }

    OptReply optReply() throws IOException {
        ByteBuffer h = read(20);
        assertEquals(Nbd.OPTION_REPLY_MAGIC, h.getLong());
        int option = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        return new OptReply(option, type, read(len));
    }

    /** Replies up to and including the first ACK or error. */
    List<OptReply> optReplies() throws IOException {
        List<OptReply> replies = new ArrayList<>();
        while (true) {
            OptReply r = optReply();
            replies.add(r);
            if (r.type() == Nbd.REP_ACK || r.type() < 0) {
                return replies;
            }
        }
    }

    static ByteBuffer nameAndInfos(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length).putInt(n.length).put(n)
                .putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.flip();
    }

    static ByteBuffer metaQuery(String export, String... queries) {
        ByteBuffer b = ByteBuffer.allocate(4096);
        byte[] n = export.getBytes(StandardCharsets.UTF_8);
        b.putInt(n.length).put(n).putInt(queries.length);
        for (String q : queries) {
            byte[] qb = q.getBytes(StandardCharsets.UTF_8);
            b.putInt(qb.length).put(qb);
        }
        return b.flip();
    }

    /** Fixed newstyle, optionally structured replies and meta contexts, then GO; returns the export's size. */
    long connect(String export, boolean structured, String... contexts) throws IOException {
        greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES);
        if (structured) {
            option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
            assertEquals(Nbd.REP_ACK, optReply().type());
        }
        if (contexts.length > 0) {
            option(Nbd.OPT_SET_META_CONTEXT, metaQuery(export, contexts));
            List<OptReply> r = optReplies();
            assertEquals(Nbd.REP_ACK, r.getLast().type(), "SET_META_CONTEXT");
        }
        option(Nbd.OPT_GO, nameAndInfos(export, Nbd.INFO_BLOCK_SIZE));
        long size = -1;
        for (OptReply r : optReplies()) {
            if (r.type() == Nbd.REP_INFO && r.data().getShort(0) == Nbd.INFO_EXPORT) {
                size = r.data().getLong(2);
                transmissionFlags = Short.toUnsignedInt(r.data().getShort(10));
            } else if (r.type() != Nbd.REP_INFO && r.type() != Nbd.REP_ACK) {
                throw new AssertionError("GO failed with reply type 0x" + Integer.toHexString(r.type()) + ": "
                        + r.text());
            }
        }
        return size;
    }

    int transmissionFlags;

    void request(int flags, int type, long cookie, long offset, long length, ByteBuffer payload) throws IOException {
        ByteBuffer h = new Wire.Request(Nbd.REQUEST_MAGIC, flags, type, cookie, offset, length).encode();
        if (payload == null) {
            write(h);
        } else {
            ByteBuffer all = ByteBuffer.allocate(h.remaining() + payload.remaining()).put(h).put(payload).flip();
            write(all);
        }
    }

    /** One chunk of a structured reply, or a simple reply (type -1, with {@code error}). */
    record Chunk(boolean simple, int flags, int type, long cookie, int error, ByteBuffer payload) {
        boolean done() {
            return simple || (flags & Nbd.REPLY_FLAG_DONE) != 0;
        }
    }

    /** Reads one reply message; for a successful simple READ reply the caller reads the data itself. */
    Chunk reply() throws IOException {
        ByteBuffer m = read(4);
        int magic = m.getInt();
        if (magic == Nbd.SIMPLE_REPLY_MAGIC) {
            ByteBuffer r = read(12);
            return new Chunk(true, 0, -1, r.getLong(4), r.getInt(0), null);
        }
        assertEquals(Nbd.STRUCTURED_REPLY_MAGIC, magic, "reply magic");
        ByteBuffer r = read(16);
        int flags = Short.toUnsignedInt(r.getShort());
        int type = Short.toUnsignedInt(r.getShort());
        long cookie = r.getLong();
        int len = r.getInt();
        ByteBuffer payload = read(len);
        int error = (type & 0x8000) != 0 ? payload.getInt(0) : 0;
        return new Chunk(false, flags, type, cookie, error, payload);
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("server closed with " + b.remaining() + " of " + n + " bytes unread");
            }
        }
        return b.flip();
    }

    /** True when the server closed the connection (reads end of stream). */
    boolean closedByServer() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        try {
            return ch.read(b) < 0;
        } catch (IOException e) {
            return true; // reset counts as closed
        }
    }

    void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
