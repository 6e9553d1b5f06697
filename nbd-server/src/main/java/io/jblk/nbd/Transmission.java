package io.jblk.nbd;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.Semaphore;

/**
 * The transmission phase of one connection. A single reader takes requests off the socket in order; each accepted
 * request runs on its own virtual thread and sends its reply when done, so replies complete out of order.
 *
 * <p>The work one connection can queue is bounded: at most {@link #MAX_IN_FLIGHT} requests run at once, and the
 * buffers they hold (READ/WRITE payloads, BLOCK_STATUS replies) stay within {@link #IN_FLIGHT_BUDGET} bytes; the
 * reader stops taking requests while either is spent, and the client's further requests wait in the socket. A
 * client that leaves without NBD_CMD_DISC (end of stream, a reply that cannot be delivered, a protocol violation)
 * has its remaining work abandoned: requests not yet started are dropped, BLOCK_STATUS and CACHE stop between
 * batches, and nothing more is read from it.
 */
final class Transmission {
    private static final System.Logger LOG = System.getLogger(Transmission.class.getName());
    /** Requests of one connection running at once (qemu-nbd allows 16 too). */
    static final int MAX_IN_FLIGHT = 16;
    /** Bytes of buffers one connection may hold at once (two maximum-size payloads). */
    static final int IN_FLIGHT_BUDGET = 2 * Nbd.MAX_PAYLOAD;
    /** Budget charged per request on top of its buffers. */
    static final int REQUEST_OVERHEAD = 4096;

    private final Connection conn;
    private final Commands commands;
    private final int contexts;
    private final Semaphore slots = new Semaphore(MAX_IN_FLIGHT);
    private final Semaphore budget = new Semaphore(IN_FLIGHT_BUDGET);
    private final BufferPool buffers = new BufferPool();
    /** Set once the client can no longer receive replies; work still queued for it is abandoned. */
    private volatile boolean clientGone;

    Transmission(Connection conn, Handshake.Session session) {
        this.conn = conn;
        this.commands = new Commands(session, () -> clientGone);
        this.contexts = session.contexts().size();
    }

    /**
     * Serves requests until DISC, end of stream or a protocol violation, then waits for the requests in flight: after
     * DISC they send their replies, otherwise they are abandoned.
     */
    void run() throws IOException {
        boolean disconnectedPolitely = false;
        try {
            disconnectedPolitely = serve();
        } finally {
            if (!disconnectedPolitely) {
                clientGone = true;
            }
            slots.acquireUninterruptibly(MAX_IN_FLIGHT);
            budget.acquireUninterruptibly(IN_FLIGHT_BUDGET);
            buffers.close(); // nothing is in flight any more
        }
    }

    /** True when the client ended with DISC, false when it just went away. */
    private boolean serve() throws IOException {
        while (true) {
            ByteBuffer header = conn.readOrEnd(Wire.REQUEST_SIZE);
            if (header == null) {
                return false; // closed between requests without DISC: impolite but clean
            }
            Wire.Request r = Wire.Request.parse(header);
            if (r.magic() != Nbd.REQUEST_MAGIC) {
                throw new ProtocolViolation("request magic 0x" + Integer.toHexString(r.magic()) + " from "
                        + conn.peer());
            }
            Commands.Refusal refusal = commands.check(r);
            if (r.type() == Nbd.CMD_DISC && refusal == null) {
                return true;
            }
            if (refusal != null) {
                if (r.type() == Nbd.CMD_WRITE) {
                    conn.skip(r.length()); // keep the stream in step so the next request can be served
                }
                conn.send(commands.error(r, refusal.error(), refusal.message()));
                continue;
            }
            slots.acquireUninterruptibly();
            if (clientGone) {
                slots.release();
                return false; // a reply could not be delivered meanwhile: take nothing more from this client
            }
            dispatch(r);
        }
    }

    /** Buffer bytes a request may hold until its reply is sent. */
    private int cost(Wire.Request r) {
        return REQUEST_OVERHEAD + switch (r.type()) {
            case Nbd.CMD_READ, Nbd.CMD_WRITE -> (int) r.length();
            case Nbd.CMD_BLOCK_STATUS -> (int) Math.min(Nbd.MAX_PAYLOAD, contexts * Descriptors.maxChunkBytes());
            default -> 0;
        };
    }

    /** Runs a checked request on a virtual thread of its own; takes over the slot the caller acquired. */
    private void dispatch(Wire.Request r) throws IOException {
        boolean payload = r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_WRITE;
        int cost = cost(r);
        budget.acquireUninterruptibly(cost);
        BufferPool.Buffer held = null;
        boolean started = false;
        try {
            MemorySegment buffer = MemorySegment.NULL;
            if (payload && r.length() > 0) {
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
            if (r.type() == Nbd.CMD_WRITE && r.length() > 0) {
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
                slots.release();
            }
        }
    }

    private void respond(Wire.Request r, MemorySegment buffer, BufferPool.Buffer held, int cost) {
        try {
            if (clientGone) {
                return; // nobody is left to read the reply: do not start the work
            }
            ByteBuffer[] reply;
            try {
                reply = commands.execute(r, buffer);
            } catch (StatusWalk.ClientGone e) {
                return;
            } catch (IOException | RuntimeException | OutOfMemoryError e) {
                LOG.log(System.Logger.Level.DEBUG, () -> Nbd.commandName(r.type()) + " failed: " + e);
                reply = commands.error(r, ErrorCodes.of(e), ErrorCodes.message(e));
            }
            if (!clientGone && !conn.isBroken()) {
                conn.send(reply);
            }
        } catch (IOException e) {
            // The client went away: abandon its queued work; the reader notices too and ends the connection.
            clientGone = true;
            conn.shutdownInput();
        } finally {
            if (held != null) {
                buffers.release(held);
            }
            budget.release(cost);
            slots.release();
        }
    }
}
