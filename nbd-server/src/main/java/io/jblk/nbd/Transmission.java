package io.jblk.nbd;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;

/**
 * The transmission phase of one connection. A single reader takes requests off the socket in order; each accepted
 * request runs on its own virtual thread and sends its reply when done, so replies complete out of order. Memory
 * held by requests in flight is bounded: the reader waits when the budget is spent.
 */
final class Transmission {
    private static final System.Logger LOG = System.getLogger(Transmission.class.getName());
    /** Bytes of payload buffers one connection may hold at once (two maximum-size requests). */
    static final int IN_FLIGHT_BUDGET = 2 * Nbd.MAX_PAYLOAD;
    /** Budget charged per request on top of its payload, which also caps the number in flight. */
    static final int REQUEST_OVERHEAD = 4096;

    private final Connection conn;
    private final Commands commands;
    private final Semaphore budget = new Semaphore(IN_FLIGHT_BUDGET);
    private final BufferPool buffers = new BufferPool();

    Transmission(Connection conn, Handshake.Session session) {
        this.conn = conn;
        this.commands = new Commands(session);
    }

    /**
     * Serves requests until DISC, end of stream or a protocol violation, then waits for the requests in flight to
     * send their replies.
     */
    void run() throws IOException {
        try {
            serve();
        } finally {
            budget.acquireUninterruptibly(IN_FLIGHT_BUDGET);
            buffers.close(); // nothing is in flight any more
        }
    }

    private void serve() throws IOException {
        while (true) {
            ByteBuffer header = conn.readOrEnd(Wire.REQUEST_SIZE);
            if (header == null) {
                return; // closed between requests without DISC: impolite but clean
            }
            Wire.Request r = Wire.Request.parse(header);
            if (r.magic() != Nbd.REQUEST_MAGIC) {
                throw new ProtocolViolation("request magic 0x" + Integer.toHexString(r.magic()) + " from "
                        + conn.peer());
            }
            Commands.Refusal refusal = commands.check(r);
            if (r.type() == Nbd.CMD_DISC && refusal == null) {
                return;
            }
            if (refusal != null) {
                if (r.type() == Nbd.CMD_WRITE) {
                    conn.skip(r.length()); // keep the stream in step so the next request can be served
                }
                conn.send(commands.error(r, refusal.error(), refusal.message()));
                continue;
            }
            dispatch(r);
        }
    }

    private void dispatch(Wire.Request r) throws IOException {
        boolean payload = r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_WRITE;
        int cost = REQUEST_OVERHEAD + (payload ? (int) r.length() : 0);
        budget.acquireUninterruptibly(cost);
        BufferPool.Buffer held = null;
        boolean started = false;
        try {
            MemorySegment buffer = MemorySegment.NULL;
            if (payload) {
                try {
                    held = buffers.take(r.length());
                    buffer = held.segment();
                } catch (OutOfMemoryError e) {
                    if (r.type() == Nbd.CMD_WRITE) {
                        conn.skip(r.length());
                    }
                    conn.send(commands.error(r, Nbd.ENOMEM, "no memory for a " + r.length() + "-byte buffer"));
                    return;
                }
            }
            if (r.type() == Nbd.CMD_WRITE) {
                conn.readFully(buffer.asByteBuffer());
            }
            MemorySegment data = buffer;
            BufferPool.Buffer owned = held;
            Thread.ofVirtual().name("nbd-" + Nbd.commandName(r.type()).toLowerCase(java.util.Locale.ROOT))
                    .start(() -> respond(r, data, owned, cost));
            started = true;
        } finally {
            if (!started) {
                if (held != null) {
                    buffers.release(held);
                }
                budget.release(cost);
            }
        }
    }

    private void respond(Wire.Request r, MemorySegment buffer, BufferPool.Buffer held, int cost) {
        try {
            ByteBuffer[] reply;
            try {
                reply = commands.execute(r, buffer);
            } catch (IOException | RuntimeException e) {
                LOG.log(System.Logger.Level.DEBUG, () -> Nbd.commandName(r.type()) + " failed: " + e);
                reply = commands.error(r, ErrorCodes.of(e), ErrorCodes.message(e));
            }
            if (!conn.isBroken()) {
                conn.send(reply);
            }
        } catch (IOException e) {
            // The client went away; the reader notices too and ends the connection.
            conn.shutdownInput();
        } finally {
            if (held != null) {
                buffers.release(held);
            }
            budget.release(cost);
        }
    }
}
