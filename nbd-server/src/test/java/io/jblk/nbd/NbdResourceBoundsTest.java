package io.jblk.nbd;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every NBD command, sent in the largest size the protocol allows, against the worst image for it
 * ({@link FragmentedQcow2}: a new extent every 512 bytes over 8 GiB), served by a JVM with a 64 MiB heap that exits
 * on running out of it. Each burst must be answered in full within a generous time, and the server must live on
 * and serve; the CPU time and peak memory of each burst are printed (docs/reliability.md records them).
 *
 * <p>Before block status was bounded, the first BLOCK_STATUS burst made the server run out of heap building an
 * 8-million-entry extent list per request, and a client that sent CACHE requests and left held a {@code -e 1}
 * server's only slot for minutes.
 */
@Timeout(900)
class NbdResourceBoundsTest {
    static final long IMAGE_SIZE = 8L << 30;
    /** The largest request length a 32-bit NBD request can carry that is a multiple of 512. */
    static final long MAX_LENGTH = 0xFFFF_FE00L;
    static final String[] SMALL_HEAP = {"-Xmx64m"};
    static final Duration BURST_BOUND = Duration.ofSeconds(120);

    @TempDir
    static Path dir;
    static Path image;
    static final List<String> figures = new ArrayList<>();

    @BeforeAll
    static void createImage() throws IOException {
        image = FragmentedQcow2.create(dir.resolve("fragmented.qcow2"), IMAGE_SIZE);
    }

    @AfterAll
    static void printFigures() {
        System.out.println("NBD resource bounds, " + IMAGE_SIZE + "-byte image with a new extent every "
                + FragmentedQcow2.SUBCLUSTER + " bytes, server heap " + String.join(" ", SMALL_HEAP));
        System.out.printf("%-36s %8s %14s %12s %10s %12s%n", "burst", "requests", "request bytes", "CPU total",
                "CPU/req", "peak RSS");
        figures.forEach(System.out::println);
    }

    @Test
    void everyCommandStaysWithinTimeAndMemoryOnAWorstCaseImage() throws Exception {
        Path copy = java.nio.file.Files.copy(image, dir.resolve("written.qcow2")); // the bursts write into it
        try (ChildServerProcess server = ChildServerProcess.start(copy, "qcow2", dir.resolve("bounds.sock"), 1,
                false, SMALL_HEAP);
             TestClient c = new TestClient(java.net.UnixDomainSocketAddress.of(server.socket))) {
            assertEquals(IMAGE_SIZE, c.connect("", true, "base:allocation", "qemu:allocation-depth"));
            burst(server, "BLOCK_STATUS, both contexts", 16, MAX_LENGTH, cookie -> {
                c.request(0, Nbd.CMD_BLOCK_STATUS, cookie, cookie * 4096, MAX_LENGTH, null);
            }, cookie -> checkBlockStatus(c, false));
            burst(server, "BLOCK_STATUS, REQ_ONE", 16, MAX_LENGTH, cookie -> {
                c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, cookie, 0, MAX_LENGTH, null);
            }, cookie -> checkBlockStatus(c, true));
            burst(server, "CACHE (32 MiB)", 40, Nbd.MAX_PAYLOAD, cookie -> {
                c.request(0, Nbd.CMD_CACHE, cookie, cookie * (Nbd.MAX_PAYLOAD + 512L), Nbd.MAX_PAYLOAD, null);
            }, cookie -> assertEquals(0, c.reply().error(), "CACHE"));
            burst(server, "CACHE (4 GiB: EINVAL, as qemu-nbd)", 40, MAX_LENGTH, cookie -> {
                c.request(0, Nbd.CMD_CACHE, cookie, 0, MAX_LENGTH, null);
            }, cookie -> assertEquals(Nbd.EINVAL, c.reply().error(), "oversize CACHE"));
            burst(server, "READ (structured, 32 MiB)", 16, Nbd.MAX_PAYLOAD, cookie -> {
                c.request(0, Nbd.CMD_READ, cookie, cookie * (Nbd.MAX_PAYLOAD + 512L), Nbd.MAX_PAYLOAD, null);
            }, cookie -> checkZeroRead(c, Nbd.MAX_PAYLOAD));
            burst(server, "WRITE (FUA, 1 MiB)", 16, 1 << 20, cookie -> {
                c.request(Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, cookie, cookie * (256L << 20) + 512, 1 << 20,
                        ByteBuffer.allocate(1 << 20));
            }, cookie -> assertEquals(0, c.reply().error(), "WRITE"));
            burst(server, "WRITE_ZEROES (NO_HOLE)", 2, MAX_LENGTH, cookie -> {
                c.request(Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, cookie, 0, MAX_LENGTH, null);
            }, cookie -> assertEquals(0, c.reply().error(), "WRITE_ZEROES"));
            burst(server, "WRITE_ZEROES (may unmap)", 2, MAX_LENGTH, cookie -> {
                c.request(0, Nbd.CMD_WRITE_ZEROES, cookie, IMAGE_SIZE - MAX_LENGTH, MAX_LENGTH, null);
            }, cookie -> assertEquals(0, c.reply().error(), "WRITE_ZEROES"));
            burst(server, "TRIM", 4, MAX_LENGTH, cookie -> {
                c.request(0, Nbd.CMD_TRIM, cookie, 0, MAX_LENGTH, null);
            }, cookie -> assertEquals(0, c.reply().error(), "TRIM"));
            burst(server, "FLUSH", 16, 0, cookie -> {
                c.request(0, Nbd.CMD_FLUSH, cookie, 0, 0, null);
            }, cookie -> assertEquals(0, c.reply().error(), "FLUSH"));
            // Still serving, and what was written reads back.
            byte[] back = NbdProtocolTest.structuredRead(c, 999, 512, 4096, 0);
            assertEquals(4096, back.length);
            server.assertAlive("after every burst");
        }
    }

    /**
     * A client pipelines 40 CACHE requests of 32 MiB and 40 BLOCK_STATUS requests of 4 GiB and leaves without reading
 * a reply; with
     * {@code -e 1} the next client must get the slot soon, not once the departed client's work is done.
     */
    @Test
    void aDepartedClientsWorkDoesNotHoldTheOnlySlot() throws Exception {
        try (ChildServerProcess server = ChildServerProcess.start(image, "qcow2", dir.resolve("slot.sock"), 1, true,
                SMALL_HEAP)) {
            var address = java.net.UnixDomainSocketAddress.of(server.socket);
            try (TestClient warmUp = new TestClient(address)) { // so the figures are not the JIT compiler's
                warmUp.connect("", true, "base:allocation", "qemu:allocation-depth");
                for (int i = 0; i < 8; i++) {
                    warmUp.request(0, Nbd.CMD_BLOCK_STATUS, i, 0, MAX_LENGTH, null);
                    checkBlockStatus(warmUp, false);
                    warmUp.request(0, Nbd.CMD_CACHE, i, 0, Nbd.MAX_PAYLOAD, null);
                    assertEquals(0, warmUp.reply().error());
                }
                warmUp.request(0, Nbd.CMD_DISC, 99, 0, 0, null);
            }
            Duration before = server.cpu();
            try (TestClient attacker = new TestClient(address)) {
                attacker.connect("", true, "base:allocation", "qemu:allocation-depth");
                for (int i = 0; i < 40; i++) {
                    attacker.request(0, Nbd.CMD_CACHE, 2L * i, i * (long) Nbd.MAX_PAYLOAD, Nbd.MAX_PAYLOAD, null);
                    attacker.request(0, Nbd.CMD_BLOCK_STATUS, 2L * i + 1, 4096, MAX_LENGTH, null);
                }
            }
            long start = System.nanoTime();
            try {
                assertTimeoutPreemptively(Duration.ofSeconds(30), () -> {
                    try (TestClient honest = new TestClient(address)) {
                        honest.connect("", false);
                        NbdProtocolTest.simpleRead(honest, 1, 0, 4096);
                    }
                }, "the next client did not get the only slot within 30 s of the first one leaving");
            } catch (Exception | AssertionError e) {
                server.assertAlive("serving the departed client's requests", Duration.ofSeconds(5));
                throw e;
            }
            double waited = (System.nanoTime() - start) / 1e9;
            server.assertAlive("after the departed client");
            figures.add(String.format("%-36s %8d %14d %11.2fs %10s %9d KiB   next client in %.2f s",
                    "departed client, -e 1", 80, MAX_LENGTH, seconds(server.cpu().minus(before)), "",
                    server.peakRssKiB(), waited));
        }
    }

    interface Step {
        void run(long cookie) throws Exception;
    }

    /** Sends {@code count} requests back to back, then reads and checks every reply, within {@link #BURST_BOUND}. */
    static void burst(ChildServerProcess server, String name, int count, long requestBytes, Step send, Step receive)
            throws Exception {
        Duration before = server.cpu();
        try {
            assertTimeoutPreemptively(BURST_BOUND, () -> {
                for (int i = 0; i < count; i++) {
                    send.run(i);
                }
                for (int i = 0; i < count; i++) {
                    receive.run(i);
                }
            }, name + ": not answered within " + BURST_BOUND.toSeconds() + " s");
        } catch (Exception | AssertionError e) {
            server.assertAlive("during " + name, Duration.ofSeconds(5)); // a dead server explains the failure better, with its last words
            throw e;
        }
        double cpu = seconds(server.cpu().minus(before));
        figures.add(String.format("%-36s %8d %14d %11.2fs %8.1fms %9d KiB", name, count, requestBytes, cpu,
                cpu * 1000 / count, server.peakRssKiB()));
    }

    static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    /**
     * One BLOCK_STATUS reply: a chunk per context, each within the descriptor cap (or exactly one with REQ_ONE),
     * covering something and nothing past the request; on this image the allocation depth alternates every 512 bytes.
     */
    static void checkBlockStatus(TestClient c, boolean reqOne) throws IOException {
        int chunks = 0;
        TestClient.Chunk chunk;
        do {
            chunk = c.reply();
            assertEquals(Nbd.CHUNK_BLOCK_STATUS, chunk.type(), "BLOCK_STATUS chunk, error " + chunk.error());
            ByteBuffer p = chunk.payload();
            int context = p.getInt();
            int descriptors = p.remaining() / 8;
            assertTrue(descriptors >= 1 && descriptors <= (reqOne ? 1 : Commands.MAX_DESCRIPTORS),
                    descriptors + " descriptors");
            long covered = 0;
            List<Integer> values = new ArrayList<>();
            while (p.hasRemaining()) {
                covered += Integer.toUnsignedLong(p.getInt());
                values.add(p.getInt());
            }
            assertTrue(covered > 0 && covered <= MAX_LENGTH, "covered " + covered);
            if (context == MetaContext.QEMU_ALLOCATION_DEPTH.id && !reqOne) {
                assertTrue(values.size() > 2 && values.get(0) != values.get(1).intValue(),
                        "the image alternates every 512 bytes: " + values.subList(0, Math.min(4, values.size())));
            }
            chunks++;
        } while (!chunk.done());
        assertEquals(2, chunks, "a chunk per negotiated context");
    }

    /** A structured READ reply of zeros (data or hole chunks) covering exactly {@code length} bytes. */
    static void checkZeroRead(TestClient c, long length) throws IOException {
        long covered = 0;
        TestClient.Chunk chunk;
        do {
            chunk = c.reply();
            ByteBuffer p = chunk.payload();
            switch (chunk.type()) {
                case Nbd.CHUNK_OFFSET_HOLE -> covered += Integer.toUnsignedLong(p.getInt(8));
                case Nbd.CHUNK_OFFSET_DATA -> {
                    p.position(8);
                    covered += p.remaining();
                    while (p.hasRemaining()) {
                        assertEquals(0, p.get(), "the image reads as zeros");
                    }
                }
                default -> throw new AssertionError("READ chunk type " + chunk.type() + " error " + chunk.error());
            }
        } while (!chunk.done());
        assertEquals(length, covered);
    }
}
