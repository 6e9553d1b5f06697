package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.nativeio.UnixConnection;
import io.jblk.nativeio.UnixListener;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;

/**
 * A vhost-user-blk back-end on a unix socket: a VMM (QEMU's {@code vhost-user-blk-pci}, cloud-hypervisor's
 * {@code --disk vhost_user=true}) connects and its guest uses the {@link BlockDevice} as a virtio-blk disk.
 *
 * <p>One front-end at a time, as vhost-user-blk defines it: when it disconnects (guest poweroff, VMM exit or
 * crash) its rings stop, requests in flight finish, the device is flushed, and the next connection is accepted. A
 * front-end that breaks the protocol is dropped the same way; the server stays up.
 *
 * <p>Thread contract: {@link #run()} blocks the calling thread serving connections until {@link #close()}, which
 * any thread may call: it stops accepting, disconnects the front-end, waits for requests in flight, flushes the
 * device (and closes it when the builder said so) and removes the socket.
 */
public final class VhostUserBlkServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.jblk.vhost");

    private final BlkBackend backend;
    private final UnixListener listener;
    private final boolean closeDevice;
    private final QueueProcessor.Factory processors;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private volatile UnixConnection current;
    private volatile boolean closing;
    private volatile boolean running;
    private volatile int connections;

    private VhostUserBlkServer(Builder b) throws IOException {
        this.backend = new BlkBackend(b.device, b.queues, b.queueSize, b.serial, b.maxDiscardSegments);
        this.closeDevice = b.closeDevice;
        this.processors = b.processors != null ? b.processors : BridgeQueueProcessor.factory(backend);
        this.listener = UnixListener.bind(b.socket);
    }

    public static Builder builder(BlockDevice device, Path socket) {
        return new Builder(Objects.requireNonNull(device), Objects.requireNonNull(socket));
    }

    public Path socket() {
        return listener.path();
    }

    /** Connections served so far (including the current one). */
    public int connections() {
        return connections;
    }

    /** Serves front-ends, one at a time, until {@link #close()}. */
    public void run() throws IOException {
        running = true;
        try {
            while (!closing) {
                UnixConnection c = listener.accept();
                if (c == null) {
                    break;
                }
                current = c;
                if (closing) {
                    c.shutdown();
                }
                connections++;
                LOG.log(System.Logger.Level.INFO, "vhost-user front-end connected on {0}", listener.path());
                try (c) {
                    new Session(backend, c, processors).run();
                } finally {
                    current = null;
                    flushQuietly();
                }
            }
        } finally {
            stopped.countDown();
        }
    }

    private void flushQuietly() {
        if (backend.device().isReadOnly()) {
            return;
        }
        try {
            backend.device().flush().join();
        } catch (CompletionException e) {
            LOG.log(System.Logger.Level.ERROR, "flush after the front-end left failed: " + e.getCause(), e);
        }
    }

    /**
     * Stops serving: no new connection, the current front-end is disconnected (its requests finish first), the
     * device is flushed and, if the builder said so, closed; the socket file is removed. Idempotent; a second
     * caller waits until the first one is done.
     */
    @Override
    public synchronized void close() throws IOException {
        if (closing) {
            return;
        }
        closing = true;
        listener.close(); // wakes accept
        UnixConnection c = current;
        if (c != null) {
            c.shutdown(); // the session sees end of stream, stops its rings and returns
        }
        if (running) {
            boolean interrupted = false;
            while (true) {
                try {
                    stopped.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (!backend.device().isReadOnly()) {
                backend.device().flush().join();
            }
        } catch (CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException("flush on close failed", e);
        } finally {
            if (closeDevice) {
                backend.device().close();
            }
        }
    }

    /** Settings with working defaults; only the device and the socket path are required. */
    public static final class Builder {
        private final BlockDevice device;
        private final Path socket;
        private int queues = 1;
        private int queueSize = 1024;
        private int maxDiscardSegments = 32;
        private byte[] serial = new byte[0];
        private boolean closeDevice;
        private QueueProcessor.Factory processors;

        private Builder(BlockDevice device, Path socket) {
            this.device = device;
            this.socket = socket;
        }

        /** Request queues offered (GET_QUEUE_NUM; 1 to 256: vring indices are 8 bits in the protocol). */
        public Builder queues(int count) {
            if (count < 1 || count > 256) {
                throw new IllegalArgumentException("queue count must be in [1, 256], got " + count);
            }
            this.queues = count;
            return this;
        }

        /** Largest ring size a front-end may choose (a power of two up to 32768; QEMU's default is 128). */
        public Builder queueSize(int size) {
            if (size < 2 || size > 32768 || Integer.bitCount(size) != 1) {
                throw new IllegalArgumentException("queue size must be a power of two in [2, 32768], got " + size);
            }
            this.queueSize = size;
            return this;
        }

        /** The GET_ID serial, at most 20 bytes of ASCII. */
        public Builder serial(String value) {
            byte[] bytes = value.getBytes(StandardCharsets.US_ASCII);
            if (bytes.length > 20) {
                throw new IllegalArgumentException("serial '" + value + "' is longer than 20 bytes");
            }
            this.serial = bytes;
            return this;
        }

        /** Whether {@link VhostUserBlkServer#close()} also closes the block device. */
        public Builder closeDeviceOnClose(boolean value) {
            this.closeDevice = value;
            return this;
        }

        Builder processors(QueueProcessor.Factory factory) {
            this.processors = factory;
            return this;
        }

        /** Binds the socket (refusing a path that is not a stale socket) and returns the server, not yet serving. */
        public VhostUserBlkServer build() throws IOException {
            return new VhostUserBlkServer(this);
        }
    }
}
