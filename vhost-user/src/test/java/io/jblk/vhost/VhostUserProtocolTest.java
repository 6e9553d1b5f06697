package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.bridge.VirtioBlkFeatures;
import io.jblk.nativeio.EventFd;
import io.jblk.nativeio.MemFd;
import io.jblk.nativeio.NativeFd;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import static io.jblk.vhost.TestFrontEnd.configRequest;
import static io.jblk.vhost.TestFrontEnd.singleRegion;
import static io.jblk.vhost.TestFrontEnd.u64;
import static io.jblk.vhost.TestFrontEnd.vringAddr;
import static io.jblk.vhost.TestFrontEnd.vringState;
import static io.jblk.vhost.VhostUserRequest.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The control plane against a test front-end over a real socket: the negotiation QEMU 7.2 performs, memory
 * regions and ring geometry, the ring lifecycle (start on kick + enable, stop on GET_VRING_BASE), and every kind of
 * malformed or hostile request, each followed by proof that the back-end still serves (the same connection when
 * the framing survived, the next connection when it did not) and that no descriptor leaked.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class VhostUserProtocolTest {
    static final long SIZE = 64L << 20;
    static final long RAM = 4L << 20;
    static final long GUEST_BASE = 0x100000;
    static final long USER_BASE = 0x7f0000000000L;

    @TempDir
    Path dir;
    BlockDevice device;
    RecordingProcessors processors = new RecordingProcessors();
    VhostUserBlkServer server;
    Thread serving;
    Path socket;

    @BeforeEach
    void start() throws IOException {
        Path image = dir.resolve("disk.raw");
        BlockDrivers.create(image, "raw", CreateOptions.builder(SIZE).build());
        device = BlockDrivers.open(image, "raw", OpenOptions.defaults());
        socket = dir.resolve("vhost.sock");
        server = VhostUserBlkServer.builder(device, socket).queues(2).queueSize(256).serial("proto-test")
                .closeDeviceOnClose(true).processors(processors).build();
        serving = Thread.ofPlatform().name("vhost-test-server").start(() -> {
            try {
                server.run();
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
        serving.join(30_000);
        assertFalse(serving.isAlive(), "run() returns after close()");
        assertFalse(Files.exists(socket), "close removes the socket");
    }

    /** The connect phase QEMU 7.2 was recorded sending (shared/notes/vhost-user.md), with REPLY_ACK. */
    private static void negotiate(TestFrontEnd fe) throws IOException {
        long features = fe.getU64(GET_FEATURES);
        long protocol = fe.getU64(GET_PROTOCOL_FEATURES);
        fe.send(SET_PROTOCOL_FEATURES, u64(protocol));
        assertEquals(2, fe.getU64(GET_QUEUE_NUM));
        assertEquals(VhostUserProtocol.MAX_MEM_SLOTS, fe.getU64(GET_MAX_MEM_SLOTS));
        assertEquals(0, fe.status(SET_OWNER, new byte[0]));
        assertEquals(0, fe.status(SET_FEATURES, u64(features & ~VhostUserProtocol.bit(VirtioBlkFeatures.MQ)
                | VhostUserProtocol.bit(VirtioBlkFeatures.MQ))));
    }

    @Test
    void answersTheNegotiationQemuPerforms() throws Exception {
        try (TestFrontEnd fe = TestFrontEnd.connect(socket); EventFd call0 = EventFd.create();
             EventFd call1 = EventFd.create(); EventFd err0 = EventFd.create()) {
            long features = fe.getU64(GET_FEATURES);
            assertTrue(VirtioBlkFeatures.has(features, VhostUserProtocol.F_PROTOCOL_FEATURES),
                    "bit 30 is offered, or QEMU negotiates nothing else");
            for (int f : new int[] {VirtioBlkFeatures.VERSION_1, VirtioBlkFeatures.FLUSH, VirtioBlkFeatures.MQ,
                    VirtioBlkFeatures.DISCARD, VirtioBlkFeatures.WRITE_ZEROES, VirtioBlkFeatures.RING_EVENT_IDX,
                    VirtioBlkFeatures.RING_INDIRECT_DESC, VirtioBlkFeatures.BLK_SIZE, VirtioBlkFeatures.SEG_MAX}) {
                assertTrue(VirtioBlkFeatures.has(features, f), "feature " + f);
            }
            assertFalse(VirtioBlkFeatures.has(features, VirtioBlkFeatures.RO));
            assertFalse(VirtioBlkFeatures.has(features, VhostUserProtocol.F_LOG_ALL), "no migration logging");
            long protocol = fe.getU64(GET_PROTOCOL_FEATURES);
            assertEquals(VhostUserProtocol.bit(VhostUserProtocol.PF_MQ) | VhostUserProtocol.bit(
                    VhostUserProtocol.PF_REPLY_ACK) | VhostUserProtocol.bit(VhostUserProtocol.PF_CONFIG)
                    | VhostUserProtocol.bit(VhostUserProtocol.PF_CONFIGURE_MEM_SLOTS)
                    | VhostUserProtocol.bit(VhostUserProtocol.PF_INFLIGHT_SHMFD), protocol);
            fe.send(SET_PROTOCOL_FEATURES, u64(protocol));
            assertEquals(2, fe.getU64(GET_QUEUE_NUM));
            assertEquals(VhostUserProtocol.MAX_MEM_SLOTS, fe.getU64(GET_MAX_MEM_SLOTS));
            assertEquals(0, fe.status(SET_OWNER, new byte[0]));
            assertEquals(features, fe.getU64(GET_FEATURES));
            assertEquals(0, fe.status(SET_VRING_CALL, u64(0), call0.fd()));
            assertEquals(0, fe.status(SET_VRING_ERR, u64(0), err0.fd()));
            assertEquals(0, fe.status(SET_VRING_CALL, u64(1), call1.fd()));
            // GET_CONFIG as QEMU 7.2 asks it: the whole virtio-blk config from offset 0
            TestFrontEnd.Reply config = fe.get(GET_CONFIG, configRequest(0, 60));
            assertEquals(12 + 60, config.payload().length);
            MemorySegment c = MemorySegment.ofArray(config.payload()).asSlice(12);
            assertEquals(SIZE / 512, c.get(Message.U64, 0), "capacity in sectors");
            assertEquals(512, c.get(Message.U32, 20), "blk_size");
            assertEquals(2, Short.toUnsignedInt(c.get(Message.U16, 34)), "num_queues");
            assertEquals(254, c.get(Message.U32, 12), "seg_max = queue size - 2");
            // a part of it, and bytes past the layout read as zero (the space is 256 bytes)
            TestFrontEnd.Reply part = fe.get(GET_CONFIG, configRequest(34, 2));
            assertEquals(2, MemorySegment.ofArray(part.payload()).get(Message.U16, 12));
            TestFrontEnd.Reply tail = fe.get(GET_CONFIG, configRequest(200, 56));
            assertEquals(12 + 56, tail.payload().length);
            for (int i = 12; i < tail.payload().length; i++) {
                assertEquals(0, tail.payload()[i]);
            }
        }
    }

    @Test
    void ringsStartOnKickAndEnableAndStopOnGetVringBase() throws Exception {
        try (TestFrontEnd fe = TestFrontEnd.connect(socket); NativeFd ram = MemFd.create("ram", RAM);
             EventFd kick0 = EventFd.create(); EventFd kick1 = EventFd.create()) {
            negotiate(fe);
            assertEquals(0, fe.status(ADD_MEM_REG, singleRegion(GUEST_BASE, RAM, USER_BASE, 0), ram));
            // SeaBIOS enables a ring it never configured: tolerated, nothing starts
            assertEquals(0, fe.status(SET_VRING_ENABLE, vringState(1, 1)));
            assertEquals(0, fe.status(SET_VRING_NUM, vringState(0, 128)));
            assertEquals(0, fe.status(SET_VRING_BASE, vringState(0, 7)));
            assertEquals(0, fe.status(SET_VRING_ADDR, vringAddr(0, 0, USER_BASE + 0x10000, USER_BASE + 0x12000,
                    USER_BASE + 0x11000)));
            assertEquals(0, fe.status(SET_VRING_KICK, u64(0), kick0.fd()));
            assertEquals(0, processors.starts.size(), "kicked but not enabled: not started");
            assertEquals(0, fe.status(SET_VRING_ENABLE, vringState(0, 1)));
            assertEquals(1, processors.starts.size());
            RecordingProcessors.Start s = processors.starts.getFirst();
            assertEquals(new RecordingProcessors.Start(0, 128, GUEST_BASE + 0x10000, GUEST_BASE + 0x11000,
                    GUEST_BASE + 0x12000, 7, s.features()), s, "user addresses translated to guest-physical");
            // a running ring refuses new geometry
            assertEquals(1, fe.status(SET_VRING_NUM, vringState(0, 64)));
            kick0.signal();
            awaitProcessCalls(2); // once at start, once for the kick
            processors.consumedPerRun = 5;
            TestFrontEnd.Reply base = fe.get(GET_VRING_BASE, vringState(0, 0));
            assertEquals(0, base.u32(0));
            assertEquals(12, base.u32(4), "the processor's next avail index");
            assertEquals(1, processors.stops.size());
            // stopped rings take geometry again, and restart only with a new kick descriptor
            assertEquals(0, fe.status(SET_VRING_NUM, vringState(0, 64)));
            assertEquals(0, fe.status(SET_VRING_KICK, u64(0), kick1.fd()));
            assertEquals(2, processors.starts.size());
            assertEquals(12, processors.starts.get(1).base(), "restarts from where it stopped");
            // disabling stops the ring
            assertEquals(0, fe.status(SET_VRING_ENABLE, vringState(0, 0)));
            assertEquals(2, processors.stops.size());
        }
    }

    @Test
    void memoryChangeWhileARingRunsRestartsItOverTheNewTable() throws Exception {
        try (TestFrontEnd fe = TestFrontEnd.connect(socket); NativeFd ram = MemFd.create("ram", RAM);
             NativeFd more = MemFd.create("more", RAM); EventFd kick = EventFd.create()) {
            negotiate(fe);
            assertEquals(0, fe.status(ADD_MEM_REG, singleRegion(GUEST_BASE, RAM, USER_BASE, 0), ram));
            startRing0(fe, kick);
            assertEquals(1, processors.starts.size());
            assertEquals(0, fe.status(ADD_MEM_REG, singleRegion(GUEST_BASE + RAM, RAM, USER_BASE + RAM, 0), more));
            assertEquals(1, processors.stops.size(), "stopped before the table changed");
            assertEquals(2, processors.starts.size(), "and started again over the new one");
            // removing the region that holds the ring leaves it unable to restart: it stays stopped
            assertEquals(0, fe.status(REM_MEM_REG, singleRegion(GUEST_BASE, RAM, USER_BASE, 0)));
            assertEquals(2, processors.stops.size());
            assertEquals(2, processors.starts.size());
            assertEquals(2, fe.getU64(GET_QUEUE_NUM), "the connection goes on");
        }
    }

    private void startRing0(TestFrontEnd fe, EventFd kick) throws IOException {
        assertEquals(0, fe.status(SET_VRING_NUM, vringState(0, 128)));
        assertEquals(0, fe.status(SET_VRING_ADDR, vringAddr(0, 0, USER_BASE, USER_BASE + 0x2000,
                USER_BASE + 0x1000)));
        assertEquals(0, fe.status(SET_VRING_KICK, u64(0), kick.fd()));
        assertEquals(0, fe.status(SET_VRING_ENABLE, vringState(0, 1)));
    }

    private void awaitProcessCalls(int n) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (processors.processCalls.get() < n && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(processors.processCalls.get() >= n, "process() calls: " + processors.processCalls.get());
    }

    // ---- hostile front-ends: refused on the same connection ----

    @Test
    void refusalsAnswerNonZeroAndTheConnectionGoesOn() throws Exception {
        long fdsBefore = openFds();
        try (TestFrontEnd fe = TestFrontEnd.connect(socket); NativeFd ram = MemFd.create("ram", RAM);
             NativeFd small = MemFd.create("small", 4096); EventFd e1 = EventFd.create();
             EventFd e2 = EventFd.create()) {
            negotiate(fe);
            assertEquals(0, fe.status(ADD_MEM_REG, singleRegion(GUEST_BASE, RAM, USER_BASE, 0), ram));
            long[][] refused = {
                {fe.statusRaw(77, new byte[4])},                                    // unknown request
                {fe.statusRaw(-1, new byte[0])},                                    // unknown, 0xffffffff
                {fe.status(SET_VRING_NUM, new byte[4])},                            // payload too short
                {fe.status(SET_VRING_NUM, new byte[12])},                           // payload too long
                {fe.status(SET_VRING_NUM, vringState(5, 128))},                     // no such ring
                {fe.status(SET_VRING_NUM, vringState(0, 100))},                     // not a power of two
                {fe.status(SET_VRING_NUM, vringState(0, 512))},                     // above the maximum
                {fe.status(SET_VRING_NUM, vringState(0, 0))},
                {fe.status(SET_VRING_NUM, vringState(0, 128), e1.fd())},            // a descriptor it has no use for
                {fe.status(SET_VRING_BASE, vringState(0, 0x10000))},                // not a 16-bit index
                {fe.status(SET_VRING_KICK, u64(0))},                                // kick without its descriptor
                {fe.status(SET_VRING_KICK, u64(0x100))},                            // polling asked for
                {fe.status(SET_VRING_KICK, u64(0), e1.fd(), e2.fd())},              // two descriptors
                {fe.status(SET_VRING_CALL, u64(0x100), e1.fd())},                   // NOFD flag with a descriptor
                {fe.status(SET_VRING_CALL, u64(0x1000), e1.fd())},                  // bits beyond index and flag
                {fe.status(SET_VRING_CALL, u64(9), e1.fd())},                       // no such ring
                {fe.status(SET_VRING_ADDR, vringAddr(0, 0, 0x1000, 0x2000, 0x3000))}, // outside every region
                {fe.status(SET_VRING_ADDR, vringAddr(0, 0, USER_BASE + RAM - 8, USER_BASE, USER_BASE))}, // straddles the end
                {fe.status(SET_VRING_ADDR, vringAddr(0, 1, USER_BASE, USER_BASE, USER_BASE))}, // dirty logging
                {fe.status(SET_VRING_ENABLE, vringState(0, 2))},
                {fe.status(SET_MEM_TABLE, TestFrontEnd.memTable(new long[] {0, RAM, 0, 0},
                        new long[] {RAM, RAM, RAM, 0}), ram)},                       // 2 regions, 1 descriptor
                {fe.status(SET_MEM_TABLE, TestFrontEnd.memTable(new long[] {0, 0, 0, 0}), ram)}, // empty region
                {fe.status(SET_MEM_TABLE, TestFrontEnd.memTable(new long[] {0, RAM, 0, 0},
                        new long[] {RAM / 2, RAM, RAM, 0}), ram, ram)},              // overlapping guest ranges
                {fe.status(SET_MEM_TABLE, nineRegions())},                            // more than 8 regions
                {fe.status(ADD_MEM_REG, singleRegion(0x40000000L, RAM, USER_BASE + 0x10000000L, 0))}, // no fd
                {fe.status(ADD_MEM_REG, singleRegion(0x40000000L, RAM, USER_BASE + 0x10000000L, 0), small)}, // file too short
                {fe.status(ADD_MEM_REG, singleRegion(GUEST_BASE, RAM, USER_BASE + RAM, 0), ram)}, // guest overlap
                {fe.status(ADD_MEM_REG, singleRegion(0x40000000L, RAM, USER_BASE + 4096, 0), ram)}, // user overlap
                {fe.status(ADD_MEM_REG, singleRegion(Long.MAX_VALUE - 10, RAM, 0, 0), ram)}, // wraps
                {fe.status(ADD_MEM_REG, singleRegion(0x40000000L, RAM, -4096, 0), ram)},    // user range wraps
                {fe.status(REM_MEM_REG, singleRegion(0x40000000L, RAM, 0, 0))},      // no such region
                {fe.status(SET_FEATURES, u64(VhostUserProtocol.bit(VhostUserProtocol.F_LOG_ALL)))},
                {fe.status(SET_PROTOCOL_FEATURES, u64(VhostUserProtocol.bit(VhostUserProtocol.PF_LOG_SHMFD)))},
                {fe.status(SET_LOG_BASE, new byte[16], ram)},
                {fe.status(SET_LOG_FD, new byte[0], e1.fd())},
                {fe.status(SET_CONFIG, configRequest(32, 1))},
                {fe.status(SET_BACKEND_REQ_FD, new byte[0], e1.fd())},
                {fe.status(SET_INFLIGHT_FD, new byte[24], ram)},
                {fe.status(VRING_KICK, vringState(0, 0))},
            };
            for (int i = 0; i < refused.length; i++) {
                assertEquals(1, refused[i][0], "case " + i + " is refused with a non-zero status");
            }
            // GET_CONFIG answers an impossible range with the spec's empty payload
            assertEquals(0, fe.get(GET_CONFIG, configRequest(0, 300)).payload().length);
            assertEquals(0, fe.get(GET_CONFIG, configRequest(250, 10)).payload().length);
            assertEquals(0, fe.get(GET_CONFIG, new byte[12 + 5]).payload().length); // size field 0, payload 5
            // a ring whose geometry does not fit memory cannot start, and says so at the enable
            assertEquals(0, fe.status(SET_VRING_NUM, vringState(1, 256)));
            assertEquals(0, fe.status(SET_VRING_ADDR, vringAddr(1, 0, USER_BASE + RAM - 2048, USER_BASE,
                    USER_BASE + 8192)));
            assertEquals(0, fe.status(SET_VRING_KICK, u64(1), e2.fd()));
            assertEquals(1, fe.status(SET_VRING_ENABLE, vringState(1, 1)));
            assertEquals(0, processors.starts.size());
            assertEquals(2, fe.getU64(GET_QUEUE_NUM), "still serving");
            negotiateAgainWorks(fe);
        }
        awaitFds(fdsBefore);
    }

    private void negotiateAgainWorks(TestFrontEnd fe) throws IOException {
        TestFrontEnd.Reply config = fe.get(GET_CONFIG, configRequest(0, 8));
        assertEquals(SIZE / 512, MemorySegment.ofArray(config.payload()).get(Message.U64, 12));
    }

    private static byte[] nineRegions() {
        long[][] r = new long[9][];
        for (int i = 0; i < 9; i++) {
            r[i] = new long[] {i * RAM, RAM, i * RAM, 0};
        }
        return TestFrontEnd.memTable(r);
    }

    // ---- hostile front-ends: connection dropped, the next one served ----

    @Test
    void framingErrorsDropTheConnectionAndTheNextOneIsServed() throws Exception {
        long fdsBefore = openFds();
        int v = VhostUserProtocol.VERSION;
        try (EventFd e = EventFd.create()) {
            dropped(fe -> fe.sendRaw(GET_FEATURES.code, 0x2, 0, new byte[0]));                  // version 2
            dropped(fe -> fe.sendRaw(GET_FEATURES.code, v | VhostUserProtocol.FLAG_REPLY, 0, new byte[0]));
            dropped(fe -> fe.sendRaw(SET_FEATURES.code, v, 5000, new byte[8]));                 // payload too big
            dropped(fe -> fe.sendRaw(SET_FEATURES.code, v, -1, new byte[8]));                   // 4 GiB payload
            dropped(fe -> fe.sendRaw(GET_VRING_BASE.code, v, 8, vringState(9, 0)));             // reply impossible
            dropped(fe -> fe.sendRaw(GET_FEATURES.code, v, 8, new byte[8]));                     // GET with payload
            dropped(fe -> fe.sendRaw(GET_QUEUE_NUM.code, v, 0, new byte[0], e.fd()));            // GET with a fd
            NativeFd[] many = new NativeFd[20];
            java.util.Arrays.fill(many, e.fd());
            dropped(fe -> fe.sendRaw(SET_VRING_CALL.code, v, 8, u64(0), many));                 // too many fds
            // the front-end vanishes inside a message
            try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
                fe.sendRaw(SET_MEM_TABLE.code, v, 264, new byte[10], e.fd());
            }
            try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
                fe.sendRaw(SET_FEATURES.code, v, 8, new byte[0]); // header only, payload never comes
            }
        }
        try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
            negotiate(fe);
            negotiateAgainWorks(fe);
        }
        awaitFds(fdsBefore);
    }

    /**
     * A hostile front-end sends random messages: request numbers across the whole range, valid and broken
     * headers, random payloads of plausible and implausible sizes, random eventfds and memfds attached. The
     * back-end must never hang or throw, drop at most the connection, close every descriptor it was sent, and
     * serve a well-behaved front-end afterwards.
     */
    @Test
    void randomMessagesNeverTakeTheBackEndDown() throws Exception {
        long fdsBefore = openFds();
        java.util.SplittableRandom random = io.jblk.api.testing.SeededRandom.forTest("vhost-user random messages");
        int[] sizes = {0, 4, 8, 12, 20, 40, 72, 264};
        try (EventFd e = EventFd.create(); NativeFd ram = MemFd.create("fuzz-ram", RAM)) {
            for (int connection = 0; connection < 10; connection++) {
                try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
                    Thread drain = Thread.ofPlatform().start(() -> {
                        try {
                            while (!fe.closedByBackEnd()) {
                                // replies and acks are read and thrown away so the back-end never blocks
                            }
                        } catch (IOException ignored) {
                            // the test closed its end
                        }
                    });
                    try {
                        for (int i = 0; i < 200; i++) {
                            int request = random.nextInt(100) < 97 ? random.nextInt(42) : random.nextInt();
                            int flags = random.nextInt(1000) < 995 ? (random.nextBoolean() ? TestFrontEnd.NEED_REPLY
                                    : VhostUserProtocol.VERSION) : random.nextInt(16);
                            int size = random.nextBoolean() ? sizes[random.nextInt(sizes.length)] : random.nextInt(300);
                            if (random.nextInt(10) < 9) { // requests with replies mostly well-formed, or every
                                size = switch (request) {  // connection would end after a few messages
                                    case 1, 15, 17, 36 -> 0;
                                    case 11 -> 8;
                                    case 24 -> 12 + random.nextInt(64);
                                    default -> size;
                                };
                                if (request == 31) {
                                    request = 32; // GET_INFLIGHT_FD is not offered: its refusal ends the connection
                                }
                            }
                            byte[] payload = new byte[size];
                            random.nextBytes(payload);
                            if (random.nextBoolean() && size >= 8) { // plausible small numbers: ring 0/1, sizes
                                MemorySegment.ofArray(payload).set(Message.U32, 0, random.nextInt(3));
                                MemorySegment.ofArray(payload).set(Message.U32, 4, 1 << random.nextInt(10));
                            }
                            NativeFd[] fds = switch (random.nextInt(4)) {
                                case 0 -> new NativeFd[] {e.fd()};
                                case 1 -> new NativeFd[] {ram};
                                case 2 -> new NativeFd[] {e.fd(), ram};
                                default -> new NativeFd[0];
                            };
                            fe.sendRaw(request, flags, size, payload, size == 0 && fds.length > 0 ? new NativeFd[0]
                                    : fds);
                        }
                    } catch (IOException dropped) {
                        // the back-end dropped this connection (EPIPE): the next one goes on
                    }
                    fe.finishSending(); // the back-end handles what it got, then sees end of stream and closes
                    drain.join(30_000);
                    assertFalse(drain.isAlive(), "the back-end closed the connection");
                }
            }
        }
        try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
            negotiate(fe);
            negotiateAgainWorks(fe);
        }
        awaitFds(fdsBefore);
    }

    interface FrontEndAction {
        void run(TestFrontEnd fe) throws IOException;
    }

    private void dropped(FrontEndAction action) throws IOException {
        try (TestFrontEnd fe = TestFrontEnd.connect(socket)) {
            action.run(fe);
            assertTrue(fe.closedByBackEnd(), "the back-end closes the connection");
        }
    }

    /** The back-end's sessions end asynchronously; their descriptors are closed once they have. */
    private static void awaitFds(long expected) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        long now = openFds();
        while (now != expected && System.nanoTime() < deadline) {
            Thread.sleep(20);
            now = openFds();
        }
        assertEquals(expected, now, "descriptors received from the front-end are all closed");
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }
}
