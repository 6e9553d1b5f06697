package io.jblk.nbd;

import io.jblk.api.BlockDevice;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves one {@link BlockDevice} over NBD (fixed newstyle) on a Unix-domain socket or TCP.
 *
 * <pre>{@code
 * try (NbdServer server = NbdServer.builder().device(dev).exportName("disk").unixSocket(path).build().start()) {
 *     server.awaitTermination();
 * }
 * }</pre>
 *
 * The device stays owned by the caller: closing the server stops serving but does not close the device.
 */
public final class NbdServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(NbdServer.class.getName());
    public static final int DEFAULT_PORT = 10809;
    /**
     * Connections the kernel may hold waiting for a {@code --shared} slot (qemu-nbd's value; Linux caps it at
     * {@code net.core.somaxconn}). Past it, new clients are refused or, on TCP, retried by the client's kernel.
     */
    static final int LISTEN_BACKLOG = 4096;

    private final NbdExport export;
    private final SocketAddress bindAddress;
    private final int maxConnections;
    private final boolean persistent;
    private final Duration handshakeTimeout;

    private final Semaphore slots;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile ServerSocketChannel listener;
    private volatile Thread acceptor;

    private NbdServer(Builder b) {
        this.export = new NbdExport(b.exportName, b.description, b.device, b.readOnly, b.unmap,
                b.maxConnections > 1);
        this.bindAddress = b.address;
        this.maxConnections = b.maxConnections;
        this.persistent = b.persistent;
        this.handshakeTimeout = b.handshakeTimeout;
        this.slots = new Semaphore(maxConnections);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Binds the socket and starts accepting clients in the background. */
    public NbdServer start() throws IOException {
        if (listener != null || closed.get()) {
            throw new IllegalStateException("server already started");
        }
        if (bindAddress instanceof InetSocketAddress inet && inet.isUnresolved()) {
            throw new IOException("cannot listen on " + describe(bindAddress) + ": the host name '"
                    + inet.getHostString() + "' does not resolve to an address");
        }
        ServerSocketChannel channel;
        if (bindAddress instanceof UnixDomainSocketAddress unix) {
            removeStaleSocket(unix.getPath());
            channel = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        } else {
            channel = ServerSocketChannel.open();
        }
        try {
            if (bindAddress instanceof UnixDomainSocketAddress unix) {
                bindUnix(channel, unix.getPath());
            } else {
                channel.bind(bindAddress, LISTEN_BACKLOG);
            }
        } catch (IOException e) {
            channel.close();
            throw new IOException("cannot listen on " + describe(bindAddress) + ": " + explainBindFailure(e), e);
        }
        listener = channel;
        acceptor = Thread.ofVirtual().name("nbd-accept").start(this::acceptLoop);
        return this;
    }

    /**
     * Binds and listens under a temporary name beside {@code path}, then renames the socket into place: bind creates
     * the file before listen starts accepting, so a client that waits for the file to appear (as scripts around
     * qemu-nbd do) could otherwise connect in between and be refused.
     */
    private static void bindUnix(ServerSocketChannel channel, Path path) throws IOException {
        Path temporary = path.resolveSibling("." + path.getFileName() + "." + ProcessHandle.current().pid() + ".binding");
        if (temporary.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length >= 108) {
            channel.bind(UnixDomainSocketAddress.of(path), LISTEN_BACKLOG); // no room for a longer name in sun_path
            return;
        }
        Files.deleteIfExists(temporary);
        channel.bind(UnixDomainSocketAddress.of(temporary), LISTEN_BACKLOG);
        try {
            Files.move(temporary, path, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
    }

    /** {@code host:port} as given (not Java's {@code name/address:port}), or the socket's path. */
    static String describe(SocketAddress address) {
        return switch (address) {
            case InetSocketAddress inet -> (inet.getHostString().contains(":") ? "[" + inet.getHostString() + "]"
                    : inet.getHostString()) + ":" + inet.getPort();
            case UnixDomainSocketAddress unix -> unix.getPath().toString();
            default -> String.valueOf(address);
        };
    }

    /** What a failed bind means for the user, in words (the JDK's messages are the bare errno texts). */
    private static String explainBindFailure(IOException e) {
        String m = String.valueOf(e.getMessage());
        if (m.contains("Address already in use")) {
            return "the address is already in use (another server listens there)";
        }
        if (m.contains("Cannot assign requested address")) {
            return "it is not an address of this host";
        }
        if (m.contains("Permission denied") || m.contains("Access denied")) {
            return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; a socket needs a writable "
                    + "directory)";
        }
        return m;
    }

    /** The address clients connect to (with the real port when port 0 was asked for). */
    public SocketAddress address() {
        if (bindAddress instanceof UnixDomainSocketAddress) {
            return bindAddress; // the listener still reports the temporary name it was bound under
        }
        try {
            return listener.getLocalAddress();
        } catch (IOException e) {
            return bindAddress;
        }
    }

    /** Connections currently open. */
    public int activeConnections() {
        return active.get();
    }

    /** Waits until the server has stopped: closed, or (when not persistent) its last client left. */
    public void awaitTermination() throws InterruptedException {
        terminated.await();
    }

    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        return terminated.await(timeout.toNanos(), TimeUnit.NANOSECONDS);
    }

    private static void removeStaleSocket(Path path) throws IOException {
        // A socket file left by an earlier run blocks bind; regular files and directories are never deleted.
        if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            if (Files.isRegularFile(path, java.nio.file.LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path)) {
                throw new IOException("cannot listen on " + path + ": a file or directory is in the way");
            }
            Files.delete(path);
        }
    }

    private void acceptLoop() {
        try {
            while (!closed.get()) {
                slots.acquire();
                SocketChannel client;
                try {
                    client = listener.accept();
                } catch (IOException e) {
                    slots.release();
                    throw e;
                }
                if (!(bindAddress instanceof UnixDomainSocketAddress)) {
                    noDelay(client);
                }
                active.incrementAndGet();
                Thread.ofVirtual().name("nbd-conn").start(() -> serve(client));
            }
        } catch (ClosedChannelException | InterruptedException e) {
            // close() stopped us
        } catch (IOException e) {
            if (!closed.get()) {
                LOG.log(System.Logger.Level.ERROR, "accept failed; server stops: " + e.getMessage());
                close();
            }
        }
    }

    private void serve(SocketChannel client) {
        Connection conn = new Connection(client, peerName(client));
        connections.add(conn);
        try {
            if (closed.get()) {
                return;
            }
            AtomicBoolean negotiated = new AtomicBoolean();
            // A client that never finishes negotiating would hold a connection slot forever.
            CompletableFuture.delayedExecutor(handshakeTimeout.toMillis(), TimeUnit.MILLISECONDS).execute(() -> {
                if (!negotiated.get()) {
                    conn.close();
                }
            });
            Optional<Handshake.Session> session = Handshake.negotiate(conn, export);
            negotiated.set(true);
            if (session.isPresent()) {
                new Transmission(conn, session.get()).run();
            }
        } catch (IOException e) {
            LOG.log(System.Logger.Level.INFO, () -> "client " + conn.peer() + " dropped: " + e.getMessage());
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.ERROR, "client " + conn.peer() + " failed", e);
        } finally {
            conn.close();
            connections.remove(conn);
            slots.release();
            if (active.decrementAndGet() == 0 && !persistent) {
                close();
            }
        }
    }

    /** Replies are whole messages written at once: Nagle's delay would only add latency. */
    private static void noDelay(SocketChannel client) {
        try {
            client.setOption(java.net.StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException e) {
            // a client already gone fails on its first read instead
        }
    }

    private static String peerName(SocketChannel client) {
        try {
            SocketAddress a = client.getRemoteAddress();
            return a == null || a.toString().isEmpty() ? "unix-client" : a.toString();
        } catch (IOException e) {
            return "unknown";
        }
    }

    /**
     * Stops accepting, lets every connection finish the requests it has in flight, then closes the connections and
     * removes the Unix socket file. Idempotent; does not close the device.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            if (listener != null) {
                listener.close();
            }
        } catch (IOException e) {
            // closing is best effort
        }
        if (acceptor != null) {
            acceptor.interrupt();
        }
        connections.forEach(Connection::shutdownInput);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (active.get() > 0 && System.nanoTime() < deadline && !isConnectionThread()) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        connections.forEach(Connection::close);
        if (bindAddress instanceof UnixDomainSocketAddress unix) {
            try {
                Files.deleteIfExists(unix.getPath());
            } catch (IOException e) {
                LOG.log(System.Logger.Level.WARNING, "could not remove " + unix.getPath() + ": " + e.getMessage());
            }
        }
        terminated.countDown();
    }

    private static boolean isConnectionThread() {
        return "nbd-conn".equals(Thread.currentThread().getName());
    }

    /** Configures a server; {@link #device} and one of {@link #unixSocket}/{@link #tcp} are required. */
    public static final class Builder {
        private BlockDevice device;
        private String exportName = "";
        private String description;
        private boolean readOnly;
        private boolean unmap = true;
        private SocketAddress address;
        private int maxConnections = 16;
        private boolean persistent = true;
        private Duration handshakeTimeout = Duration.ofSeconds(10);

        public Builder device(BlockDevice value) {
            this.device = Objects.requireNonNull(value, "device");
            return this;
        }

        public Builder exportName(String value) {
            this.exportName = Objects.requireNonNull(value, "exportName");
            return this;
        }

        /** Free text shown to clients that ask for NBD_INFO_DESCRIPTION. */
        public Builder description(String value) {
            this.description = value;
            return this;
        }

        /** Refuse writes even if the device accepts them. */
        public Builder readOnly(boolean value) {
            this.readOnly = value;
            return this;
        }

        /** Whether TRIM and WRITE_ZEROES may release storage (default true); false is qemu-nbd's --discard=ignore. */
        public Builder unmap(boolean value) {
            this.unmap = value;
            return this;
        }

        public Builder unixSocket(Path path) {
            this.address = UnixDomainSocketAddress.of(path);
            return this;
        }

        /** Listens on {@code host:port} (port 0 picks a free port; see {@link NbdServer#address()}). */
        public Builder tcp(String host, int port) {
            this.address = new InetSocketAddress(host, port);
            return this;
        }

        /** Simultaneous clients; more wait in the listen backlog. Above 1, CAN_MULTI_CONN is advertised. */
        public Builder maxConnections(int value) {
            if (value < 1) {
                throw new IllegalArgumentException("maxConnections must be at least 1, got " + value);
            }
            this.maxConnections = value;
            return this;
        }

        /** False: stop once the last client disconnects (qemu-nbd without --persistent). Default true. */
        public Builder persistent(boolean value) {
            this.persistent = value;
            return this;
        }

        public Builder handshakeTimeout(Duration value) {
            this.handshakeTimeout = Objects.requireNonNull(value);
            return this;
        }

        public NbdServer build() {
            if (device == null) {
                throw new IllegalStateException("no device to export");
            }
            if (address == null) {
                throw new IllegalStateException("no socket: call unixSocket(path) or tcp(host, port)");
            }
            if (exportName.getBytes(java.nio.charset.StandardCharsets.UTF_8).length > Nbd.MAX_STRING) {
                throw new IllegalArgumentException("export name longer than " + Nbd.MAX_STRING + " bytes");
            }
            return new NbdServer(this);
        }
    }
}
