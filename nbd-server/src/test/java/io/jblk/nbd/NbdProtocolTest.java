package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The server against a hand-driven socket: every bad-input case of the protocol, and pipelining. */
@Timeout(120)
class NbdProtocolTest {
    static final long SIZE = 8 << 20;
    static final long DATA_END = 64 << 10;

    @TempDir
    Path dir;
    BlockDevice device;
    GatedDevice gated;
    NbdServer server;

    @BeforeEach
    void start() throws Exception {
        Path image = dir.resolve("disk.raw");
        BlockDrivers.create(image, "raw", CreateOptions.builder(SIZE).build());
        device = BlockDrivers.open(image, "raw", OpenOptions.defaults());
        // Data in the first 64 KiB only; the rest stays a hole.
        try (Arena a = Arena.ofConfined()) {
            MemorySegment s = a.allocate(DATA_END);
            for (long i = 0; i < DATA_END; i++) {
                s.set(java.lang.foreign.ValueLayout.JAVA_BYTE, i, (byte) (i * 7 + 1));
            }
            device.write(0, s).join();
        }
        gated = new GatedDevice(device);
        server = serve(false);
    }

    NbdServer serve(boolean readOnly) throws IOException {
        Path sock = dir.resolve(readOnly ? "ro.sock" : "nbd.sock");
        return NbdServer.builder().device(gated).exportName("disk").description("test disk").readOnly(readOnly)
                .unixSocket(sock).maxConnections(4).build().start();
    }

    @AfterEach
    void stop() throws Exception {
        gated.gate.complete(null);
        server.close();
        device.close();
    }

    TestClient client() throws IOException {
        return new TestClient(server.address());
    }

    static byte expected(long i) {
        return i < DATA_END ? (byte) (i * 7 + 1) : 0;
    }

    /** Reads with a simple-reply connection and returns the bytes. */
    static byte[] simpleRead(TestClient c, long cookie, long offset, int length) throws IOException {
        c.request(0, Nbd.CMD_READ, cookie, offset, length, null);
        TestClient.Chunk r = c.reply();
        assertEquals(0, r.error(), "read error");
        assertEquals(cookie, r.cookie());
        byte[] data = new byte[length];
        c.read(length).get(data);
        return data;
    }

    @Test
    void goReportsSizeFlagsAndBlockSizes() throws Exception {
        try (TestClient c = client()) {
            c.greet();
            assertEquals(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES, c.handshakeFlags);
            c.clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
            assertEquals(Nbd.REP_ACK, c.optReply().type());
            c.option(Nbd.OPT_GO, TestClient.nameAndInfos("disk", Nbd.INFO_NAME, Nbd.INFO_DESCRIPTION,
                    Nbd.INFO_BLOCK_SIZE));
            Map<Integer, ByteBuffer> infos = new HashMap<>();
            List<TestClient.OptReply> replies = c.optReplies();
            for (TestClient.OptReply r : replies) {
                assertEquals(Nbd.OPT_GO, r.option());
                if (r.type() == Nbd.REP_INFO) {
                    infos.put((int) r.data().getShort(0), r.data().position(2).slice());
                }
            }
            assertEquals(Nbd.REP_ACK, replies.getLast().type());
            assertEquals("disk", java.nio.charset.StandardCharsets.UTF_8.decode(infos.get(Nbd.INFO_NAME)).toString());
            assertEquals("test disk",
                    java.nio.charset.StandardCharsets.UTF_8.decode(infos.get(Nbd.INFO_DESCRIPTION)).toString());
            ByteBuffer bs = infos.get(Nbd.INFO_BLOCK_SIZE);
            assertEquals(1, bs.getInt(0));
            assertEquals(4096, bs.getInt(4));
            assertEquals(32 << 20, bs.getInt(8));
            ByteBuffer ex = infos.get(Nbd.INFO_EXPORT);
            assertEquals(SIZE, ex.getLong(0));
            int flags = Short.toUnsignedInt(ex.getShort(8));
            int want = Nbd.TF_HAS_FLAGS | Nbd.TF_SEND_FLUSH | Nbd.TF_SEND_FUA | Nbd.TF_SEND_TRIM
                    | Nbd.TF_SEND_WRITE_ZEROES | Nbd.TF_SEND_FAST_ZERO | Nbd.TF_SEND_CACHE | Nbd.TF_SEND_DF
                    | Nbd.TF_CAN_MULTI_CONN;
            assertEquals(want, flags);
            // Now in transmission: a read works and the server honours DISC by closing.
            assertArrayEquals(expectedBytes(0, 16), structuredRead(c, 1, 0, 16, 0));
            c.request(0, Nbd.CMD_DISC, 2, 0, 0, null);
            assertTrue(c.closedByServer());
        }
    }

    static byte[] expectedBytes(long offset, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = expected(offset + i);
        }
        return b;
    }

    /** Reads through structured replies, reassembling data and hole chunks; returns the bytes. */
    static byte[] structuredRead(TestClient c, long cookie, long offset, int length, int flags) throws IOException {
        c.request(flags, Nbd.CMD_READ, cookie, offset, length, null);
        byte[] out = new byte[length];
        Arrays.fill(out, (byte) 0x5a); // anything not covered by a chunk shows up as wrong data
        TestClient.Chunk chunk;
        do {
            chunk = c.reply();
            assertEquals(cookie, chunk.cookie());
            assertFalse(chunk.simple(), "READ must get structured replies");
            ByteBuffer p = chunk.payload();
            switch (chunk.type()) {
                case Nbd.CHUNK_OFFSET_DATA -> {
                    long at = p.getLong();
                    p.get(out, (int) (at - offset), p.remaining());
                }
                case Nbd.CHUNK_OFFSET_HOLE -> {
                    long at = p.getLong();
                    Arrays.fill(out, (int) (at - offset), (int) (at - offset + p.getInt()), (byte) 0);
                }
                case Nbd.CHUNK_NONE -> { }
                default -> throw new AssertionError("chunk type " + chunk.type() + " error " + chunk.error());
            }
        } while (!chunk.done());
        return out;
    }

    @Test
    void sparseReadSendsHolesAndDfSendsOneChunk() throws Exception {
        try (TestClient c = client()) {
            gated.zeroFrom = DATA_END;
            c.connect("disk", true);
            int len = 1 << 20;
            c.request(0, Nbd.CMD_READ, 7, 0, len, null);
            TestClient.Chunk first = c.reply();
            assertEquals(Nbd.CHUNK_OFFSET_DATA, first.type());
            assertEquals(0, first.payload().getLong(0));
            assertEquals(8 + DATA_END, first.payload().remaining());
            TestClient.Chunk second = c.reply();
            assertEquals(Nbd.CHUNK_OFFSET_HOLE, second.type());
            assertEquals(DATA_END, second.payload().getLong(0));
            assertEquals(len - DATA_END, second.payload().getInt(8));
            assertTrue(second.done());

            assertArrayEquals(expectedBytes(0, len), structuredRead(c, 8, 0, len, 0));
            c.request(Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 9, 0, len, null);
            TestClient.Chunk only = c.reply();
            assertTrue(only.done());
            assertEquals(Nbd.CHUNK_OFFSET_DATA, only.type());
            assertEquals(8 + len, only.payload().remaining());
        }
    }

    @Test
    void repliesCompleteOutOfOrderAndPipelinedRequestsAllAnswer() throws Exception {
        try (TestClient c = client()) {
            c.connect("disk", false);
            gated.gatedOffset = 4096;
            c.request(0, Nbd.CMD_READ, 100, 4096, 512, null); // held back by the gate
            c.request(0, Nbd.CMD_READ, 101, 8192, 512, null);
            TestClient.Chunk r = c.reply();
            assertEquals(101, r.cookie(), "the later request must overtake the blocked one");
            byte[] d = new byte[512];
            c.read(512).get(d);
            assertArrayEquals(expectedBytes(8192, 512), d);
            gated.gate.complete(null);
            r = c.reply();
            assertEquals(100, r.cookie());
            c.read(512).get(d);
            assertArrayEquals(expectedBytes(4096, 512), d);

            // 200 writes sent back to back without reading a reply, then 200 reads: each cookie answered once.
            int n = 200;
            for (int i = 0; i < n; i++) {
                byte[] block = new byte[4096];
                Arrays.fill(block, (byte) i);
                c.request(0, Nbd.CMD_WRITE, 1000 + i, (1 << 20) + i * 4096L, 4096, ByteBuffer.wrap(block));
            }
            Set<Long> seen = new HashSet<>();
            for (int i = 0; i < n; i++) {
                TestClient.Chunk w = c.reply();
                assertEquals(0, w.error());
                assertTrue(seen.add(w.cookie()), "duplicate reply for " + w.cookie());
            }
            assertEquals(n, seen.size());
            for (int i = 0; i < n; i++) {
                c.request(0, Nbd.CMD_READ, 5000 + i, (1 << 20) + i * 4096L, 4096, null);
            }
            for (int i = 0; i < n; i++) {
                TestClient.Chunk rr = c.reply();
                assertEquals(0, rr.error());
                int k = (int) (rr.cookie() - 5000);
                byte[] got = new byte[4096];
                c.read(4096).get(got);
                byte[] want = new byte[4096];
                Arrays.fill(want, (byte) k);
                assertArrayEquals(want, got, "block " + k);
            }
        }
    }

    @Test
    void malformedHandshakesAreRefusedAndTheServerKeepsServing() throws Exception {
        try (TestClient c = client()) {
            c.greet().clientFlags(0x80); // unknown client flag: the server must drop the connection
            assertTrue(c.closedByServer());
        }
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.write(ByteBuffer.allocate(16).putLong(0x1234).putInt(Nbd.OPT_GO).putInt(0).flip());
            assertTrue(c.closedByServer(), "bad option magic");
        }
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_EXPORT_NAME, ByteBuffer.wrap("nope".getBytes()));
            assertTrue(c.closedByServer(), "EXPORT_NAME of an unknown export");
        }
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.option(99, ByteBuffer.wrap(new byte[5]));
            assertEquals(Nbd.REP_ERR_UNSUP, c.optReply().type());
            c.option(Nbd.OPT_STARTTLS, ByteBuffer.allocate(0));
            assertEquals(Nbd.REP_ERR_UNSUP, c.optReply().type());
            c.option(Nbd.OPT_EXTENDED_HEADERS, ByteBuffer.allocate(0));
            assertEquals(Nbd.REP_ERR_UNSUP, c.optReply().type());
            c.option(Nbd.OPT_LIST, ByteBuffer.wrap(new byte[3]));
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type());
            c.option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.wrap(new byte[1]));
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type());
            c.option(Nbd.OPT_SET_META_CONTEXT, TestClient.metaQuery("disk", "base:allocation"));
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type(), "meta context before structured replies");
            c.option(Nbd.OPT_INFO, TestClient.nameAndInfos("other"));
            TestClient.OptReply unknown = c.optReply();
            assertEquals(Nbd.REP_ERR_UNKNOWN, unknown.type());
            assertTrue(unknown.text().contains("other"), unknown.text());
            c.option(Nbd.OPT_GO, ByteBuffer.allocate(6).putInt(100).putShort((short) 0).flip());
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type(), "name length beyond the data");
            c.option(Nbd.OPT_GO, ByteBuffer.allocate(7).putInt(0).putShort((short) 2).put((byte) 0).flip());
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type(), "info count beyond the data");
            c.option(Nbd.OPT_INFO, ByteBuffer.wrap(new byte[100 << 10]));
            assertEquals(Nbd.REP_ERR_TOO_BIG, c.optReply().type());
            c.option(Nbd.OPT_LIST, ByteBuffer.allocate(0));
            List<TestClient.OptReply> list = c.optReplies();
            assertEquals(Nbd.REP_SERVER, list.getFirst().type());
            assertEquals("disk", new String(Arrays.copyOfRange(list.getFirst().data().array(), 4, 8)));
            // After all of that the same connection still negotiates and serves.
            c.option(Nbd.OPT_GO, TestClient.nameAndInfos(""));
            assertEquals(Nbd.REP_ACK, c.optReplies().getLast().type());
            assertArrayEquals(expectedBytes(100, 10), simpleRead(c, 1, 100, 10));
        }
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_ABORT, ByteBuffer.allocate(0));
            assertEquals(Nbd.REP_ACK, c.optReply().type());
            assertTrue(c.closedByServer());
        }
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.write(ByteBuffer.wrap(new byte[7])); // half an option header, then gone
        }
        try (TestClient c = client()) {
            assertEquals(SIZE, c.connect("disk", true, "base:allocation"));
        }
    }

    @Test
    void metaContextsListAndSet() throws Exception {
        try (TestClient c = client()) {
            c.greet().clientFlags(Nbd.FLAG_FIXED_NEWSTYLE);
            c.option(Nbd.OPT_STRUCTURED_REPLY, ByteBuffer.allocate(0));
            c.optReply();
            c.option(Nbd.OPT_LIST_META_CONTEXT, TestClient.metaQuery("disk"));
            assertEquals(List.of("base:allocation", "qemu:allocation-depth"), contextNames(c.optReplies()));
            c.option(Nbd.OPT_LIST_META_CONTEXT, TestClient.metaQuery("disk", "qemu:"));
            assertEquals(List.of("qemu:allocation-depth"), contextNames(c.optReplies()));
            c.option(Nbd.OPT_SET_META_CONTEXT, TestClient.metaQuery("disk", "base:allocation", "x-foo:bar",
                    "qemu:allocation-depth"));
            List<TestClient.OptReply> set = c.optReplies();
            assertEquals(List.of("base:allocation", "qemu:allocation-depth"), contextNames(set));
            assertNotEquals(set.get(0).data().getInt(0), set.get(1).data().getInt(0), "context ids are distinct");
            c.option(Nbd.OPT_SET_META_CONTEXT, TestClient.metaQuery("nope", "base:allocation"));
            assertEquals(Nbd.REP_ERR_UNKNOWN, c.optReply().type());
            ByteBuffer trailing = ByteBuffer.allocate(64).put(TestClient.metaQuery("disk")).put((byte) 1).flip();
            c.option(Nbd.OPT_SET_META_CONTEXT, trailing);
            assertEquals(Nbd.REP_ERR_INVALID, c.optReply().type());
        }
    }

    static List<String> contextNames(List<TestClient.OptReply> replies) {
        return replies.stream().filter(r -> r.type() == Nbd.REP_META_CONTEXT)
                .map(r -> new String(Arrays.copyOfRange(r.data().array(), 4, r.data().limit()))).toList();
    }

    @Test
    void blockStatusReportsBothContextsAndHonoursReqOne() throws Exception {
        try (TestClient c = client()) {
            gated.zeroFrom = DATA_END;
            c.connect("disk", true, "base:allocation", "qemu:allocation-depth");
            c.request(0, Nbd.CMD_BLOCK_STATUS, 3, 0, 1 << 20, null);
            Map<Integer, int[]> byContext = new HashMap<>();
            TestClient.Chunk chunk;
            do {
                chunk = c.reply();
                assertEquals(Nbd.CHUNK_BLOCK_STATUS, chunk.type());
                ByteBuffer p = chunk.payload();
                int id = p.getInt();
                int[] desc = new int[p.remaining() / 4];
                for (int i = 0; i < desc.length; i++) {
                    desc[i] = p.getInt();
                }
                byContext.put(id, desc);
            } while (!chunk.done());
            assertArrayEquals(new int[] {(int) DATA_END, 0, (int) ((1 << 20) - DATA_END),
                    Nbd.STATE_HOLE | Nbd.STATE_ZERO}, byContext.get(MetaContext.BASE_ALLOCATION.id));
            assertArrayEquals(new int[] {1 << 20, 1}, byContext.get(MetaContext.QEMU_ALLOCATION_DEPTH.id));

            c.request(Nbd.CMD_FLAG_REQ_ONE, Nbd.CMD_BLOCK_STATUS, 4, 4096, 1 << 20, null);
            int descriptors = 0;
            do {
                chunk = c.reply();
                ByteBuffer p = chunk.payload();
                int id = p.getInt();
                assertEquals(8, p.remaining(), "REQ_ONE gives one descriptor");
                int len = p.getInt();
                if (id == MetaContext.BASE_ALLOCATION.id) {
                    assertEquals(DATA_END - 4096, len);
                }
                descriptors++;
            } while (!chunk.done());
            assertEquals(2, descriptors);
        }
    }

    /** Sends one request and returns its error value (reading and dropping any READ data). */
    static int errorOf(TestClient c, int flags, int type, long offset, long length, ByteBuffer payload)
            throws IOException {
        c.request(flags, type, 77, offset, length, payload);
        TestClient.Chunk r = c.reply();
        assertEquals(77, r.cookie());
        assertTrue(r.done());
        if (r.error() == 0 && r.simple() && type == Nbd.CMD_READ) {
            c.read((int) length);
        }
        return r.error();
    }

    @Test
    void badRequestsGetProtocolErrorsAndTheConnectionContinues() throws Exception {
        try (TestClient c = client()) {
            c.connect("disk", false);
            assertEquals(Nbd.EINVAL, errorOf(c, 0, 42, 0, 512, null), "unknown command");
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_READ, 0, 33 << 20, null), "read over 32 MiB");
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_WRITE, 0, (32 << 20) + 4096,
                    ByteBuffer.allocate((32 << 20) + 4096)), "write over 32 MiB (payload skipped)");
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_READ, SIZE - 512, 1024, null), "read past the end");
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_READ, -4096, 512, null), "offset above 2^63");
            assertEquals(Nbd.ENOSPC, errorOf(c, 0, Nbd.CMD_WRITE, SIZE, 512, ByteBuffer.allocate(512)),
                    "write past the end");
            assertEquals(Nbd.ENOSPC, errorOf(c, 0, Nbd.CMD_WRITE_ZEROES, SIZE - 512, 4096, null));
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_TRIM, SIZE, 4096, null));
            assertEquals(0, errorOf(c, 0, Nbd.CMD_READ, 0, 0, null), "zero-length read succeeds, as in qemu-nbd");
            assertEquals(0, errorOf(c, Nbd.CMD_FLAG_FUA, Nbd.CMD_READ, 0, 512, null), "FUA is accepted on READ");
            assertEquals(0, errorOf(c, Nbd.CMD_FLAG_FUA, Nbd.CMD_FLUSH, 0, 0, null), "FUA is accepted on FLUSH");
            assertEquals(Nbd.EINVAL, errorOf(c, Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_READ, 0, 512, null), "flag on READ");
            assertEquals(Nbd.EINVAL, errorOf(c, Nbd.CMD_FLAG_DF, Nbd.CMD_READ, 0, 512, null),
                    "DF without structured replies");
            assertEquals(Nbd.EINVAL, errorOf(c, 0, Nbd.CMD_BLOCK_STATUS, 0, 512, null), "no meta context");
            assertEquals(Nbd.ENOTSUP, errorOf(c, Nbd.CMD_FLAG_FAST_ZERO | Nbd.CMD_FLAG_NO_HOLE,
                    Nbd.CMD_WRITE_ZEROES, 0, 4096, null));
            assertEquals(0, errorOf(c, 0, Nbd.CMD_FLUSH, 0, 0, null));
            assertEquals(0, errorOf(c, 0, Nbd.CMD_CACHE, 0, 1 << 20, null));
            // Nothing above changed the image, and the connection still serves.
            assertArrayEquals(expectedBytes(0, 8192), simpleRead(c, 5, 0, 8192));
            c.request(0, Nbd.CMD_READ, 6, SIZE - 512, 512, null);
            assertEquals(0, c.reply().error());
            assertArrayEquals(new byte[512], c.read(512).array());
        }
    }

    @Test
    void structuredErrorsForReadAreErrorChunks() throws Exception {
        try (TestClient c = client()) {
            c.connect("disk", true);
            c.request(0, Nbd.CMD_READ, 9, SIZE, 512, null);
            TestClient.Chunk r = c.reply();
            assertEquals(Nbd.CHUNK_ERROR, r.type());
            assertEquals(Nbd.EINVAL, r.error());
            int msgLen = Short.toUnsignedInt(r.payload().getShort(4));
            String msg = new String(r.payload().array(), 6, msgLen);
            assertTrue(msg.contains(String.valueOf(SIZE)), msg);
            assertTrue(r.done());
        }
    }

    @Test
    void writesZeroesAndTrimReachTheDevice() throws Exception {
        try (TestClient c = client()) {
            c.connect("disk", true);
            byte[] block = new byte[8192];
            Arrays.fill(block, (byte) 0xab);
            assertEquals(0, errorOf(c, Nbd.CMD_FLAG_FUA, Nbd.CMD_WRITE, 1 << 20, 8192, ByteBuffer.wrap(block)));
            byte[] want = block.clone();
            assertArrayEquals(want, structuredRead(c, 1, 1 << 20, 8192, 0));
            assertEquals(0, errorOf(c, Nbd.CMD_FLAG_NO_HOLE, Nbd.CMD_WRITE_ZEROES, 1 << 20, 4096, null));
            Arrays.fill(want, 0, 4096, (byte) 0);
            assertArrayEquals(want, structuredRead(c, 2, 1 << 20, 8192, 0));
            assertEquals(0, errorOf(c, Nbd.CMD_FLAG_FAST_ZERO, Nbd.CMD_WRITE_ZEROES, (1 << 20) + 4096, 4096, null));
            assertArrayEquals(new byte[8192], structuredRead(c, 3, 1 << 20, 8192, 0));
            assertEquals(0, errorOf(c, 0, Nbd.CMD_TRIM, 0, 4096, null));
            assertArrayEquals(new byte[4096], structuredRead(c, 4, 0, 4096, 0));
        }
    }

    @Test
    void readOnlyExportRefusesWritesWithEperm() throws Exception {
        try (NbdServer ro = serve(true); TestClient c = new TestClient(ro.address())) {
            c.connect("disk", false);
            assertTrue((c.transmissionFlags & Nbd.TF_READ_ONLY) != 0);
            assertEquals(0, c.transmissionFlags & (Nbd.TF_SEND_TRIM | Nbd.TF_SEND_WRITE_ZEROES));
            assertEquals(Nbd.EPERM, errorOf(c, 0, Nbd.CMD_WRITE, 0, 512, ByteBuffer.allocate(512)));
            assertEquals(Nbd.EPERM, errorOf(c, 0, Nbd.CMD_TRIM, 0, 4096, null));
            assertEquals(Nbd.EPERM, errorOf(c, 0, Nbd.CMD_WRITE_ZEROES, 0, 4096, null));
            assertArrayEquals(expectedBytes(0, 512), simpleRead(c, 1, 0, 512));
        }
    }

    @Test
    void badMagicOrMidRequestDisconnectEndsOnlyThatClient() throws Exception {
        try (TestClient good = client()) {
            good.connect("disk", false);
            try (TestClient bad = client()) {
                bad.connect("disk", false);
                bad.write(ByteBuffer.allocate(28).putInt(0, 0xdeadbeef));
                assertTrue(bad.closedByServer());
            }
            try (TestClient gone = client()) {
                gone.connect("disk", false);
                // Header of a 64 KiB write and only part of its payload, then the client vanishes.
                gone.request(0, Nbd.CMD_WRITE, 1, 0, 65536, ByteBuffer.wrap(new byte[1000]));
            }
            assertArrayEquals(expectedBytes(0, 65536), simpleRead(good, 2, 0, 65536), "image untouched");
        }
    }

    @Test
    void clientLeavingWithRepliesInFlightFreesItsConnection() throws Exception {
        try (TestClient c = client()) {
            c.connect("disk", true);
            gated.gatedOffset = 0;
            for (int i = 0; i < 40; i++) {
                c.request(0, Nbd.CMD_READ, i, i == 0 ? 0 : (1 << 20) + i * (64L << 10), 64 << 10, null);
            }
        } // gone without reading a single reply, one read still held in the device
        gated.gate.complete(null);
        for (int i = 0; i < 500 && server.activeConnections() > 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(0, server.activeConnections(), "the abandoned connection was cleaned up");
        try (TestClient next = client()) {
            next.connect("disk", false);
            assertArrayEquals(expectedBytes(0, 4096), simpleRead(next, 1, 0, 4096));
        }
    }

    /**
     * A connection runs at most {@link Transmission#MAX_IN_FLIGHT} requests at once; the rest wait in the socket. When
     * the client leaves without reading its replies, the requests it left queued are never started.
     */
    @Test
    void requestsInFlightAreCappedAndADepartedClientsQueueIsDropped() throws Exception {
        gated.gateEveryRead = true;
        try (TestClient c = client()) {
            c.connect("disk", false);
            for (int i = 0; i < 40; i++) {
                c.request(0, Nbd.CMD_READ, i, i * 4096L, 4096, null);
            }
            for (int i = 0; i < 500 && gated.reads.get() < Transmission.MAX_IN_FLIGHT; i++) {
                Thread.sleep(10);
            }
            Thread.sleep(200); // time for any request beyond the cap to (wrongly) start
            assertEquals(Transmission.MAX_IN_FLIGHT, gated.reads.get(), "requests running at once");
        } // gone without reading a reply
        gated.gate.complete(null);
        for (int i = 0; i < 500 && server.activeConnections() > 0; i++) {
            Thread.sleep(10);
        }
        assertEquals(0, server.activeConnections(), "the departed client's connection ended");
        assertEquals(Transmission.MAX_IN_FLIGHT, gated.reads.get(), "none of its queued requests was started");
    }

    @Test
    void randomGarbageNeverStopsTheServerNorLeaksConnections() throws Exception {
        long seed = io.jblk.api.testing.SeededRandom.seed();
        java.util.SplittableRandom rnd = new java.util.SplittableRandom(seed);
        try (NbdServer ro = serve(true)) {
            for (int i = 0; i < 60; i++) {
                try (TestClient c = new TestClient(ro.address())) {
                    if (rnd.nextBoolean()) {
                        c.greet();
                    } else {
                        c.connect("disk", rnd.nextBoolean());
                        // A well-framed request with random fields, then random bytes.
                        c.request(rnd.nextInt(1 << 16), rnd.nextInt(10), i, rnd.nextLong(),
                                rnd.nextLong(1L << 32), null);
                    }
                    byte[] junk = new byte[rnd.nextInt(300)];
                    rnd.nextBytes(junk);
                    c.write(ByteBuffer.wrap(junk));
                } catch (IOException e) {
                    // the server may hang up first; that is one of the allowed answers
                }
            }
            for (int i = 0; i < 1000 && ro.activeConnections() > 0; i++) {
                Thread.sleep(10);
            }
            assertEquals(0, ro.activeConnections(),
                    io.jblk.api.testing.SeededRandom.withSeed("connections left open", seed));
            try (TestClient good = new TestClient(ro.address())) {
                good.connect("disk", false);
                assertArrayEquals(expectedBytes(0, 4096), simpleRead(good, 1, 0, 4096));
            }
        }
    }

    @Test
    void closingTheServerEndsClientsAndRemovesTheSocket() throws Exception {
        TestClient c = client();
        c.connect("disk", false);
        server.close();
        assertTrue(c.closedByServer());
        assertFalse(java.nio.file.Files.exists(dir.resolve("nbd.sock")));
        assertTrue(server.awaitTermination(java.time.Duration.ofSeconds(5)));
        c.close();
    }

    @Test
    void nonPersistentServerStopsAfterLastClient() throws Exception {
        Path sock = dir.resolve("once.sock");
        try (NbdServer once = NbdServer.builder().device(gated).unixSocket(sock).maxConnections(1)
                .persistent(false).build().start()) {
            try (TestClient c = new TestClient(once.address())) {
                c.connect("", false);
                assertEquals(0, c.transmissionFlags & Nbd.TF_CAN_MULTI_CONN, "single connection: no multi-conn");
            }
            assertTrue(once.awaitTermination(java.time.Duration.ofSeconds(10)));
        }
    }

    @Test
    void handshakeTimeoutFreesTheSlot() throws Exception {
        Path sock = dir.resolve("slow.sock");
        try (NbdServer s = NbdServer.builder().device(gated).unixSocket(sock).maxConnections(1)
                .handshakeTimeout(java.time.Duration.ofMillis(200)).build().start();
             TestClient idle = new TestClient(s.address())) {
            idle.greet(); // and then says nothing
            assertTrue(idle.closedByServer());
            try (TestClient next = new TestClient(s.address())) {
                assertEquals(SIZE, next.connect("", false));
            }
        }
    }

}
