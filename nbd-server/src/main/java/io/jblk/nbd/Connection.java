package io.jblk.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One client socket: blocking reads for the single reader, and whole-message writes serialised by a lock so that
 * replies completing concurrently never interleave on the wire.
 */
final class Connection implements AutoCloseable {
    private static final int SKIP_CHUNK = 64 << 10;

    private final SocketChannel channel;
    private final String peer;
    private final ReentrantLock writeLock = new ReentrantLock();
    private volatile boolean broken;

    Connection(SocketChannel channel, String peer) {
        this.channel = channel;
        this.peer = peer;
    }

    String peer() {
        return peer;
    }

    /** Reads exactly {@code n} bytes; a client that closes first raises {@link EOFException}. */
    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        readFully(b);
        return b.flip();
    }

    /** Like {@link #read}, but returns null when the client closed cleanly before the first byte. */
    ByteBuffer readOrEnd(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        if (channel.read(b) < 0) {
            return null;
        }
        readFully(b);
        return b.flip();
    }

    void readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("client " + peer + " closed the connection with " + b.remaining()
                        + " bytes of a message still expected");
            }
        }
    }

    /** Reads and drops {@code n} bytes (the payload of a request or option that is refused). */
    void skip(long n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate((int) Math.min(SKIP_CHUNK, Math.max(n, 1)));
        while (n > 0) {
            b.clear().limit((int) Math.min(b.capacity(), n));
            readFully(b);
            n -= b.limit();
        }
    }

    /** Writes one complete message (all parts back to back) or fails; never interleaves with another send. */
    void send(ByteBuffer... parts) throws IOException {
        writeLock.lock();
        try {
            if (broken) {
                throw new IOException("connection to " + peer + " is broken");
            }
            long remaining = 0;
            for (ByteBuffer p : parts) {
                remaining += p.remaining();
            }
            while (remaining > 0) {
                remaining -= channel.write(parts);
            }
        } catch (IOException e) {
            broken = true;
            throw e;
        } finally {
            writeLock.unlock();
        }
    }

    boolean isBroken() {
        return broken;
    }

    /** Makes the reader see end-of-stream, so it stops taking requests and drains those in flight. */
    void shutdownInput() {
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            // already closed or reset: the reader sees that as the end as well
        }
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            // nothing useful left to do with a socket that fails to close
        }
    }
}
