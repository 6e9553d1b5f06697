package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.UnixConnection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code jblk serve --vhost-user}: a separate JVM serving an image, asked what a VMM asks first (features, config),
 * then stopped with SIGTERM as a process manager would; and its argument checks. The real-guest tests in the
 * vhost-user module run QEMU against the same back-end.
 */
@Timeout(120)
class ServeVhostUserTest {
    private static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    private static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    @TempDir
    Path dir;

    @Test
    void servesAVmmAndStopsCleanlyOnSigterm() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        Path image = dir.resolve("disk.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", image.toString(), "32M").ok();
        Path sock = dir.resolve("vhost.sock");
        String java = ProcessHandle.current().info().command().orElse("java");
        Process serve = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "serve", "--vhost-user", "-k",
                sock.toString(), "-f", "qcow2", "--queues", "4", image.toString())
                .redirectErrorStream(true).redirectOutput(dir.resolve("serve.log").toFile()).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(sock)) {
            assertTrue(serve.isAlive() && System.nanoTime() < deadline, Files.readString(dir.resolve("serve.log")));
            Thread.sleep(20);
        }
        try (UnixConnection c = UnixConnection.connect(sock); Arena arena = Arena.ofConfined()) {
            long features = call(c, arena, 1, new byte[0]).get(U64, 0); // GET_FEATURES
            assertTrue((features & (1L << 30)) != 0, "VHOST_USER_F_PROTOCOL_FEATURES");
            assertTrue((features & (1L << 32)) != 0, "VIRTIO_F_VERSION_1");
            assertEquals(4, call(c, arena, 17, new byte[0]).get(U64, 0)); // GET_QUEUE_NUM
            byte[] config = new byte[12 + 8];
            MemorySegment.ofArray(config).set(U32, 4, 8);
            MemorySegment reply = call(c, arena, 24, config); // GET_CONFIG: capacity
            assertEquals(32L * 1024 * 1024 / 512, reply.get(U64, 12));
        }
        serve.destroy(); // SIGTERM
        assertTrue(serve.waitFor(60, TimeUnit.SECONDS), "stops on SIGTERM");
        assertEquals(0, serve.exitValue(), "a requested stop exits 0, as qemu-storage-daemon and qemu-nbd");
        String log = Files.readString(dir.resolve("serve.log"));
        assertTrue(log.contains("vhost-user-blk back-end for"), log);
        assertFalse(Files.exists(sock), "the socket is removed");
        Cli.qemuImg("check", "-f", "qcow2", image.toString()).ok();
    }

    /** Sends one request and returns the reply payload. */
    private static MemorySegment call(UnixConnection c, Arena arena, int request, byte[] payload) throws Exception {
        byte[] m = new byte[12 + payload.length];
        MemorySegment s = MemorySegment.ofArray(m);
        s.set(U32, 0, request);
        s.set(U32, 4, 1);
        s.set(U32, 8, payload.length);
        System.arraycopy(payload, 0, m, 12, payload.length);
        c.send(m);
        MemorySegment header = arena.allocate(12);
        fill(c, header);
        assertEquals(request, header.get(U32, 0));
        assertEquals(1 | 4, header.get(U32, 4), "version 1 with the reply flag");
        MemorySegment body = arena.allocate(header.get(U32, 8));
        fill(c, body);
        return body;
    }

    private static void fill(UnixConnection c, MemorySegment into) throws Exception {
        long got = 0;
        while (got < into.byteSize()) {
            int n = c.receive(into.asSlice(got), 0).bytes();
            assertTrue(n > 0, "the back-end closed the connection");
            got += n;
        }
    }

    @Test
    void argumentsThatDoNotFitAreRefusedByName() throws Exception {
        Path image = dir.resolve("d.raw");
        Files.write(image, new byte[1 << 20]);
        String sock = dir.resolve("v.sock").toString();
        Cli.Result noSocket = Cli.jblk("serve", "--vhost-user", "-f", "raw", image.toString());
        assertEquals(1, noSocket.exitCode());
        assertTrue(noSocket.stderr().contains("needs -k SOCKET"), noSocket.stderr());
        Cli.Result port = Cli.jblk("serve", "--vhost-user", "-k", sock, "-p", "10810", "-f", "raw", image.toString());
        assertTrue(port.stderr().contains("--port is an NBD option"), port.stderr());
        Cli.Result queues = Cli.jblk("serve", "--vhost-user", "-k", sock, "--queues", "300", "-f", "raw",
                image.toString());
        assertTrue(queues.stderr().contains("--queues must be between 1 and 256"), queues.stderr());
        Cli.Result nbdQueues = Cli.jblk("serve", "--queues", "2", "-k", sock, "-f", "raw", image.toString());
        assertTrue(nbdQueues.stderr().contains("--queues applies to --vhost-user only"), nbdQueues.stderr());
        Cli.Result notSocket = Cli.jblk("serve", "--vhost-user", "-k", image.toString(), "-f", "raw",
                image.toString());
        assertEquals(1, notSocket.exitCode());
        assertTrue(notSocket.stderr().contains("exists and is not a socket"), notSocket.stderr());
        assertEquals(1 << 20, Files.size(image), "the file named as the socket is left alone");
        Cli.Result missing = Cli.jblk("serve", "--vhost-user", "-k", sock, "-f", "raw",
                dir.resolve("none.raw").toString());
        assertEquals(1, missing.exitCode());
        assertFalse(missing.stderr().contains("Exception"), missing.stderr());
    }
}
