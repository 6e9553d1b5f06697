package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.bridge.Descriptor;
import io.jblk.bridge.VirtioBlkRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

import static io.jblk.vhost.TestFrontEnd.vringState;
import static io.jblk.vhost.VhostUserRequest.GET_VRING_BASE;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * Requests through the whole vhost-user path with a test front-end and guest driver: guest RAM in a memfd, rings
 * addressed by user address, kicks and calls through eventfds, a real raw image underneath.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class VhostUserDataPathTest {
    static final long SIZE = 16L << 20;

    @TempDir
    Path dir;
    Path image;
    VhostUserBlkServer server;
    Thread serving;

    private Path serve(boolean readOnly, int queues) throws IOException {
        image = dir.resolve("disk.raw");
        if (!Files.exists(image)) {
            BlockDrivers.create(image, "raw", CreateOptions.builder(SIZE).build());
        }
        BlockDevice device = BlockDrivers.open(image, "raw", OpenOptions.builder().readOnly(readOnly).build());
        Path socket = dir.resolve("vhost.sock");
        server = VhostUserBlkServer.builder(device, socket).queues(queues).serial("vhost-data-path")
                .closeDeviceOnClose(true).build();
        serving = Thread.ofPlatform().start(() -> {
            try {
                server.run();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        return socket;
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
            serving.join(30_000);
            assertFalse(serving.isAlive());
        }
    }

    @Test
    void writesReadsFlushAndSerialOnTwoQueuesLandInTheImage() throws Exception {
        Path socket = serve(false, 2);
        SplittableRandom random = io.jblk.api.testing.SeededRandom.forTest("vhost data path");
        byte[] expected = new byte[(int) SIZE];
        for (boolean eventIdx : new boolean[] {true, false}) {
            try (VhostTestDriver d = new VhostTestDriver(socket, 2, eventIdx)) {
                for (int i = 0; i < 200; i++) {
                    int q = i % 2;
                    int len = 512 * (1 + random.nextInt(64));
                    long sector = random.nextLong(SIZE / 512 - len / 512);
                    byte[] data = new byte[len];
                    random.nextBytes(data);
                    long buf = d.alloc(len);
                    MemorySegment.copy(data, 0, d.mem(), ValueLayout.JAVA_BYTE, buf, len);
                    assertEquals(VirtioBlkRequest.S_OK, d.submit(q, VirtioBlkRequest.T_OUT, sector, buf, len, false));
                    System.arraycopy(data, 0, expected, (int) (sector * 512), len);
                    long rbuf = d.alloc(len);
                    assertEquals(VirtioBlkRequest.S_OK, d.submit(1 - q, VirtioBlkRequest.T_IN, sector, rbuf, len, true));
                    assertArrayEquals(data, d.mem().asSlice(rbuf, len).toArray(ValueLayout.JAVA_BYTE));
                }
                assertEquals(VirtioBlkRequest.S_OK, d.submit(0, VirtioBlkRequest.T_FLUSH, 0, 0, 0, false));
                long id = d.alloc(20);
                assertEquals(VirtioBlkRequest.S_OK, d.submit(1, VirtioBlkRequest.T_GET_ID, 0, id, 20, true));
                assertEquals("vhost-data-path", new String(d.mem().asSlice(id, 15).toArray(ValueLayout.JAVA_BYTE),
                        StandardCharsets.US_ASCII));
                // a batch: 40 requests published, one kick, all come back
                VhostTestDriver.Ring r = d.ring(0);
                for (int i = 0; i < 20; i++) {
                    long buf = d.alloc(4096);
                    d.add(r, VirtioBlkRequest.T_IN, i * 8L, buf, 4096, true);
                }
                d.kick(r);
                d.awaitAll(r);
            }
        }
        server.close();
        serving.join(30_000);
        server = null;
        assertArrayEquals(expected, Files.readAllBytes(image), "the image holds what the guest wrote");
    }

    @Test
    void getVringBaseDrainsAndARestartContinuesFromTheBase() throws Exception {
        Path socket = serve(false, 1);
        try (VhostTestDriver d = new VhostTestDriver(socket, 1, true)) {
            VhostTestDriver.Ring r = d.ring(0);
            java.util.List<VhostTestDriver.Request> first = new java.util.ArrayList<>();
            for (int i = 0; i < 10; i++) {
                first.add(d.add(r, VirtioBlkRequest.T_OUT, i * 8L, d.alloc(4096), 4096, false));
            }
            d.kick(r);
            TestFrontEnd.Reply base = d.fe.get(GET_VRING_BASE, vringState(0, 0));
            int consumed = base.u32(4);
            // whatever was taken from the ring is back in the used ring when GET_VRING_BASE answers
            assertEquals(consumed, d.usedIdx(r), "used index equals the base: nothing left in flight");
            for (VhostTestDriver.Request q : first.subList(0, consumed)) {
                assertEquals(VirtioBlkRequest.S_OK, d.status(q));
                d.mem().set(ValueLayout.JAVA_BYTE, q.statusAt(), (byte) 0x7f); // would change if run twice
            }
            d.start(r, consumed); // SET_VRING_BASE + a new kick descriptor, as QEMU restarts a ring
            d.kick(r);
            d.awaitAll(r);
            assertEquals(10, d.usedIdx(r));
            for (int i = 0; i < 5; i++) {
                assertEquals(VirtioBlkRequest.S_OK, d.submit(0, VirtioBlkRequest.T_IN, i * 8L, d.alloc(4096), 4096,
                        true));
            }
            assertEquals(15, d.usedIdx(r));
            for (int i = 0; i < first.size(); i++) {
                assertEquals(i < consumed ? 0x7f : VirtioBlkRequest.S_OK, d.status(first.get(i)),
                        "requests before the base are not taken again, those after it are served once");
            }
        }
    }

    @Test
    void aDescriptorLoopGetsIoerrAndTheRingGoesOn() throws Exception {
        Path socket = serve(false, 1);
        try (VhostTestDriver d = new VhostTestDriver(socket, 1, true)) {
            VhostTestDriver.Ring r = d.ring(0);
            VhostTestDriver.Request req = d.add(r, VirtioBlkRequest.T_IN, 0, d.alloc(512), 512, true);
            // make the chain's last descriptor point back at its head
            MemorySegment table = d.mem().asSlice(r.desc, 16L * VhostTestDriver.QUEUE_SIZE);
            int lastIdx = (req.head() + 2) % VhostTestDriver.QUEUE_SIZE;
            Descriptor last = Descriptor.read(table, lastIdx);
            new Descriptor(last.address(), last.length(), last.flags() | Descriptor.F_NEXT, req.head())
                    .write(table, lastIdx);
            d.kick(r);
            d.awaitAll(r);
            assertEquals(VirtioBlkRequest.S_IOERR, d.status(req));
            assertEquals(VirtioBlkRequest.S_OK, d.submit(0, VirtioBlkRequest.T_IN, 0, d.alloc(512), 512, true));
            // a head outside the table
            d.publish(r, 999);
            d.kick(r);
            d.awaitAll(r);
            assertEquals(999, d.usedElem(r, d.usedIdx(r) - 1)[0]);
            assertEquals(0, d.usedElem(r, d.usedIdx(r) - 1)[1], "returned with nothing written");
            assertEquals(VirtioBlkRequest.S_OK, d.submit(0, VirtioBlkRequest.T_FLUSH, 0, 0, 0, false));
        }
    }

    @Test
    void aReadOnlyImageRefusesWritesAndOffersRo() throws Exception {
        Path socket = serve(false, 1);
        server.close();
        serving.join(30_000);
        socket = serve(true, 1);
        try (VhostTestDriver d = new VhostTestDriver(socket, 1, true)) {
            assertEquals(VirtioBlkRequest.S_IOERR, d.submit(0, VirtioBlkRequest.T_OUT, 0, d.alloc(512), 512, false));
            assertEquals(VirtioBlkRequest.S_OK, d.submit(0, VirtioBlkRequest.T_IN, 0, d.alloc(512), 512, true));
            assertEquals(VirtioBlkRequest.S_UNSUPP, d.submit(0, VirtioBlkRequest.T_DISCARD, 0, d.alloc(16), 16, false));
        }
        byte[] zeros = new byte[512];
        assertArrayEquals(zeros, Arrays.copyOf(Files.readAllBytes(image), 512));
    }
}
