package io.jblk.bridge;

import io.jblk.api.BlockLimits;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkRequest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * One test per validation rule: the status the guest sees for the malformed request, and that the device then
 * serves a valid request correctly.
 */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING"})
class ValidationTest {
    @Parameter
    Wiring wiring;

    static final int SIZE = 1 << 20;
    static final int UNTOUCHED = 0xFF;

    @TempDir
    Path dir;
    Fixture f;
    byte[] content;

    Fixture start(boolean readOnly, long features, java.util.function.Function<io.jblk.api.BlockDevice,
            io.jblk.api.BlockDevice> wrap) throws Exception {
        content = new byte[SIZE];
        for (int i = 0; i < SIZE; i++) {
            content[i] = (byte) (i * 31 + (i >> 9));
        }
        f = new Fixture(wiring, dir, SIZE, content, readOnly, 1, 16, wrap);
        assertTrue(f.guest.initialize(features, 1, 16));
        return f;
    }

    Fixture start() throws Exception {
        return start(false, ALL_FEATURES, null);
    }

    @AfterEach
    void close() throws Exception {
        if (f != null) {
            f.close();
        }
    }

    /** The device still works: a valid read returns the image content. */
    void assertStillServes() throws Exception {
        var r = await(f.guest.read(0, 3, 1024, 2, false));
        assertEquals(S_OK, r.status(), "valid request after the malformed one");
        assertArrayEquals(Arrays.copyOfRange(content, 3 * 512, 3 * 512 + 1024), r.data());
        assertFalse(f.device().needsReset());
    }

    long header(int type, long sector) {
        long h = f.ram.alloc(16, 16);
        f.ram.at(h, 16).set(LittleEndian.U32, 0, type);
        f.ram.at(h, 16).set(LittleEndian.U64, 8, sector);
        return h;
    }

    long statusByte() {
        long s = f.ram.alloc(1, 1);
        f.ram.at(s, 1).set(ValueLayout.JAVA_BYTE, 0, (byte) UNTOUCHED);
        return s;
    }

    /** Writes hand-made descriptors into reserved table slots and submits the first as head. */
    GuestBlkDriver.Result raw(long statusAddr, Descriptor... descs) throws Exception {
        GuestQueue q = f.guest.queues.getFirst();
        int[] ids = q.reserve(descs.length);
        for (int i = 0; i < descs.length; i++) {
            Descriptor d = descs[i];
            // descriptor "next" fields are given as positions in descs; map them to the reserved slots
            int next = d.hasNext() && d.next() < ids.length ? ids[d.next()] : d.next();
            new Descriptor(d.address(), d.length(), d.flags(), next).write(q.descTable(), ids[i]);
        }
        return await(f.guest.submitRaw(0, ids[0], statusAddr));
    }

    static Descriptor r(long addr, int len, int next) {
        return new Descriptor(addr, len, next >= 0 ? Descriptor.F_NEXT : 0, Math.max(next, 0));
    }

    static Descriptor w(long addr, int len, int next) {
        return new Descriptor(addr, len, Descriptor.F_WRITE | (next >= 0 ? Descriptor.F_NEXT : 0), Math.max(next, 0));
    }

    @Test
    void chainLoopingBackToTheHeaderIsIoerr() throws Exception {
        start();
        long s = statusByte();
        var res = raw(s, r(header(T_IN, 0), 16, 1), w(s, 1, 0));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void chainLoopingOnItselfIsIoerrAndEnds() throws Exception {
        start();
        long s = statusByte();
        long data = f.ram.alloc(512, 512);
        var res = raw(s, r(header(T_IN, 0), 16, 1), w(data, 512, 2), w(s, 1, -1));
        assertEquals(S_OK, res.status(), "control: the well-formed chain");
        res = raw(s, r(header(T_IN, 0), 16, 1), w(s, 1, 1));
        assertEquals(S_IOERR, res.status(), "a writable descriptor whose NEXT is itself");
        assertEquals(1, res.usedLength());
        assertStillServes();
    }

    @Test
    void loopInsideAnIndirectTableIsIoerr() throws Exception {
        start();
        long s = statusByte();
        long table = f.ram.alloc(32, 16);
        r(header(T_IN, 0), 16, 1).write(f.ram.at(table, 32), 0);
        w(s, 1, 1).write(f.ram.at(table, 32), 1);
        var res = raw(s, new Descriptor(table, 32, Descriptor.F_INDIRECT, 0));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void nextIndexBeyondTheQueueIsIoerr() throws Exception {
        start();
        long s = statusByte();
        GuestQueue q = f.guest.queues.getFirst();
        int[] ids = q.reserve(2);
        r(header(T_IN, 0), 16, ids[1]).write(q.descTable(), ids[0]);
        new Descriptor(s, 1, Descriptor.F_WRITE | Descriptor.F_NEXT, 999).write(q.descTable(), ids[1]);
        var res = await(f.guest.submitRaw(0, ids[0], s));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void headIndexBeyondTheQueueIsReturnedWithoutTouchingMemory() throws Exception {
        start();
        var res = await(f.guest.submitRaw(0, 40, 0));
        assertEquals(0, res.usedLength());
        assertStillServes();
    }

    @Test
    void dataOutsideGuestMemoryIsIoerr() throws Exception {
        start();
        long s = statusByte();
        var res = raw(s, r(header(T_OUT, 0), 16, 1), r(0x1000, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status(), "data below guest RAM");
        res = raw(s, r(header(T_IN, 0), 16, 1), w(GuestRam.BASE + f.ram.ram.byteSize() - 256, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status(), "data running past the end of guest RAM");
        res = raw(s, r(header(T_IN, 0), 16, 1), w(-512, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status(), "address that wraps around");
        assertStillServes();
    }

    @Test
    void indirectTableOutsideGuestMemoryOrMalformedIsIoerr() throws Exception {
        start();
        long s = statusByte();
        var res = raw(s, r(header(T_IN, 0), 16, 1), new Descriptor(0x2000, 32, Descriptor.F_INDIRECT, 0));
        assertEquals(0, res.usedLength(), "no findable status byte: returned with len 0");
        assertEquals(UNTOUCHED, res.status());
        long table = f.ram.alloc(48, 16);
        r(header(T_IN, 0), 16, 1).write(f.ram.at(table, 48), 0);
        w(s, 1, -1).write(f.ram.at(table, 48), 1);
        res = raw(s, new Descriptor(table, 40, Descriptor.F_INDIRECT, 0));
        assertEquals(S_IOERR, res.status(), "indirect length not a multiple of 16");
        long inner = f.ram.alloc(16, 16);
        new Descriptor(table, 32, Descriptor.F_INDIRECT, 0).write(f.ram.at(inner, 16), 0);
        res = raw(s, new Descriptor(inner, 16, Descriptor.F_INDIRECT, 0));
        assertEquals(S_IOERR, res.status(), "indirect inside indirect");
        res = raw(s, new Descriptor(table, 32, Descriptor.F_INDIRECT, 0));
        assertEquals(S_OK, res.status(), "control: the same table, well-formed, is a valid zero-length IN");
        assertStillServes();
    }

    @Test
    void indirectWithoutTheNegotiatedFeatureIsIoerr() throws Exception {
        start(false, ALL_FEATURES & ~VirtioBlkFeatures.bit(VirtioBlkFeatures.RING_INDIRECT_DESC), null);
        var res = await(f.guest.read(0, 0, 512, 1, true));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void missingOrEmptyStatusIsReturnedUntouched() throws Exception {
        start();
        long s = statusByte();
        var res = raw(s, r(header(T_IN, 0), 16, -1));
        assertEquals(UNTOUCHED, res.status(), "no status descriptor");
        assertEquals(0, res.usedLength());
        res = raw(s, r(header(T_FLUSH, 0), 16, 1), w(s, 0, -1));
        assertEquals(UNTOUCHED, res.status(), "zero-length status descriptor");
        assertEquals(0, res.usedLength());
        assertStillServes();
    }

    @Test
    void readOnlyDataDescriptorForInIsIoerr() throws Exception {
        start();
        long s = statusByte();
        long data = f.ram.alloc(512, 512);
        var res = raw(s, r(header(T_IN, 0), 16, 1), r(data, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void writableDataDescriptorForOutIsIoerr() throws Exception {
        start();
        long s = statusByte();
        long data = f.ram.alloc(512, 512);
        var res = raw(s, r(header(T_OUT, 0), 16, 1), w(data, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void writableHeaderIsIoerr() throws Exception {
        start();
        long s = statusByte();
        long data = f.ram.alloc(512, 512);
        var res = raw(s, w(header(T_IN, 0), 16, 1), w(data, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status());
        res = raw(s, r(header(T_IN, 0), 8, 1), w(data, 512, 2), w(s, 1, -1));
        assertEquals(S_IOERR, res.status(), "8-byte header");
        assertStillServes();
    }

    @Test
    void readableAfterWritableIsIoerr() throws Exception {
        start();
        long s = statusByte();
        long data = f.ram.alloc(512, 512);
        var res = raw(s, r(header(T_OUT, 0), 16, 1), w(data, 512, 2), r(data, 512, 3), w(s, 1, -1));
        assertEquals(S_IOERR, res.status());
        assertStillServes();
    }

    @Test
    void requestsBeyondCapacityAreIoerr() throws Exception {
        start();
        long capacity = SIZE / 512;
        assertEquals(S_IOERR, await(f.guest.read(0, capacity, 512, 1, false)).status());
        assertEquals(S_IOERR, await(f.guest.read(0, capacity - 1, 1024, 1, false)).status());
        assertEquals(S_IOERR, await(f.guest.write(0, -1L, new byte[512], 1, false)).status(), "sector 2^64-1");
        assertEquals(S_IOERR, await(f.guest.ranges(0, T_WRITE_ZEROES, new long[][]{{capacity - 4, 8, 0}}, false))
                .status());
        assertEquals(S_OK, await(f.guest.read(0, capacity - 1, 512, 1, false)).status(), "control: last sector");
        assertStillServes();
    }

    @Test
    void dataNotAMultipleOf512IsIoerr() throws Exception {
        start();
        assertEquals(S_IOERR, await(f.guest.read(0, 0, 513, 1, false)).status());
        assertEquals(S_IOERR, await(f.guest.write(0, 0, new byte[100], 1, false)).status());
        assertStillServes();
        assertArrayEquals(Arrays.copyOf(content, 512), await(f.guest.read(0, 0, 512, 1, false)).data(),
                "the refused write changed nothing");
    }

    @Test
    void writesAndDiscardsToAReadOnlyDeviceAreRefused() throws Exception {
        long features = ALL_FEATURES | VirtioBlkFeatures.bit(VirtioBlkFeatures.RO);
        start(true, features, null);
        long offered = f.guest.deviceFeatures();
        assertTrue(VirtioBlkFeatures.has(offered, VirtioBlkFeatures.RO));
        assertFalse(VirtioBlkFeatures.has(offered, VirtioBlkFeatures.DISCARD));
        assertEquals(S_IOERR, await(f.guest.write(0, 0, new byte[512], 1, false)).status());
        assertEquals(S_UNSUPP, await(f.guest.ranges(0, T_DISCARD, new long[][]{{0, 8, 0}}, false)).status(),
                "DISCARD was not negotiated");
        assertEquals(S_UNSUPP, await(f.guest.ranges(0, T_WRITE_ZEROES, new long[][]{{0, 8, 0}}, false)).status());
        assertStillServes();
        assertArrayEquals(Arrays.copyOf(content, 512), await(f.guest.read(0, 0, 512, 1, false)).data());
    }

    @Test
    void discardAndWriteZeroesLimitsAndFlags() throws Exception {
        start();
        VirtioBlkConfig c = f.device().config();
        long[][] tooMany = new long[c.maxDiscardSeg() + 1][];
        for (int i = 0; i < tooMany.length; i++) {
            tooMany[i] = new long[]{1024 + i * 8L, 8, 0};
        }
        assertEquals(S_IOERR, await(f.guest.ranges(0, T_DISCARD, tooMany, false)).status(), "too many segments");
        assertEquals(S_OK, await(f.guest.ranges(0, T_DISCARD, Arrays.copyOf(tooMany, c.maxDiscardSeg()), true))
                .status(), "control: max segments");
        long[][] tooLong = {{0, Integer.toUnsignedLong(c.maxWriteZeroesSectors()) + 8, 0}};
        assertEquals(S_IOERR, await(f.guest.ranges(0, T_WRITE_ZEROES, tooLong, false)).status(), "too many sectors");
        assertEquals(S_UNSUPP, await(f.guest.ranges(0, T_DISCARD, new long[][]{{0, 8, 1}}, false)).status(),
                "UNMAP on DISCARD");
        assertEquals(S_UNSUPP, await(f.guest.ranges(0, T_WRITE_ZEROES, new long[][]{{0, 8, 4}}, false)).status(),
                "unknown flag");
        assertEquals(S_IOERR, await(f.guest.request(0, T_DISCARD, 0, new byte[10], 0, 1, false)).status(),
                "payload not a multiple of 16");
        assertStillServes();
    }

    @Test
    void requestsUnalignedToTheBlockSizeAreIoerr() throws Exception {
        start(false, ALL_FEATURES, d -> new ControlledDevice(d, new BlockLimits(4096, 0, 4096, 1 << 20, 1L << 30)));
        VirtioBlkConfig c = f.device().config();
        assertEquals(4096, c.blkSize());
        assertEquals(4096, f.guest.config(20, 4), "blk_size in config space");
        assertEquals(S_IOERR, await(f.guest.read(0, 1, 4096, 1, false)).status(), "sector not 4K-aligned");
        assertEquals(S_IOERR, await(f.guest.read(0, 0, 512, 1, false)).status(), "length not 4K");
        assertEquals(S_IOERR, await(f.guest.ranges(0, T_DISCARD, new long[][]{{4, 8, 0}}, false)).status(),
                "discard segment unaligned");
        assertEquals(S_IOERR, await(f.guest.ranges(0, T_WRITE_ZEROES, new long[][]{{0, 4, 0}}, false)).status(),
                "write-zeroes segment unaligned");
        var ok = await(f.guest.read(0, 8, 8192, 3, false)); // 3 segments: not 4K multiples each, so bounced
        assertEquals(S_OK, ok.status());
        assertArrayEquals(Arrays.copyOfRange(content, 4096, 4096 + 8192), ok.data());
    }

    @Test
    void unknownTypeIsUnsupp() throws Exception {
        start();
        assertEquals(S_UNSUPP, await(f.guest.request(0, 99, 0, null, 0, 1, false)).status());
        assertEquals(S_UNSUPP, await(f.guest.request(0, 10, 0, null, 512, 1, false)).status(), "GET_LIFETIME");
        assertStillServes();
        assertEquals(2, f.device().guestErrors(), "each refused request is counted (and logged)");
    }

    @Test
    void availIndexTooFarAheadNeedsReset() throws Exception {
        start();
        GuestQueue q = f.guest.queues.getFirst();
        q.forceAvailIdx(q.size + 1);
        f.guest.reg(VirtioMmioTransport.QUEUE_NOTIFY, 0);
        assertTrue(f.device().needsReset());
        assertNotEquals(0, f.guest.reg(VirtioMmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
        while (f.guest.configInterrupts.get() == 0) {
            Thread.onSpinWait(); // the config-change interrupt reaches the guest's handler thread
        }
        assertTrue(f.guest.initialize(ALL_FEATURES, 1, 16), "the driver resets and re-initialises");
        assertStillServes();
    }

    @Test
    void ringsOutsideGuestMemoryNeedReset() throws Exception {
        start();
        GuestBlkDriver g = f.guest;
        g.reg(VirtioMmioTransport.STATUS, 0);
        g.reg(VirtioMmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER);
        g.reg(VirtioMmioTransport.DRIVER_FEATURES_SEL, 1);
        g.reg(VirtioMmioTransport.DRIVER_FEATURES, 1);
        g.reg(VirtioMmioTransport.STATUS, DeviceStatus.ACKNOWLEDGE | DeviceStatus.DRIVER | DeviceStatus.FEATURES_OK);
        g.reg(VirtioMmioTransport.QUEUE_SEL, 0);
        g.reg(VirtioMmioTransport.QUEUE_NUM, 16);
        g.reg(VirtioMmioTransport.QUEUE_DESC_LOW, 0x1000); // below guest RAM
        g.reg(VirtioMmioTransport.QUEUE_READY, 1);
        assertEquals(0, g.reg(VirtioMmioTransport.QUEUE_READY));
        assertNotEquals(0, g.reg(VirtioMmioTransport.STATUS) & DeviceStatus.DEVICE_NEEDS_RESET);
        assertTrue(g.initialize(ALL_FEATURES, 1, 16));
        assertStillServes();
    }

    @Test
    void unusualButValidFramingIsAccepted() throws Exception {
        start();
        long s = statusByte();
        // header split over two descriptors, data and status in one writable descriptor
        long h = header(T_IN, 2);
        long buf = f.ram.alloc(513, 512);
        var res = raw(s, r(h, 10, 1), r(h + 10, 6, 2), w(buf, 513, -1));
        int status = Byte.toUnsignedInt(f.ram.at(buf + 512, 1).get(ValueLayout.JAVA_BYTE, 0));
        assertEquals(S_OK, status, "status is the last writable byte");
        assertEquals(513, res.usedLength());
        assertArrayEquals(Arrays.copyOfRange(content, 1024, 1536), f.ram.at(buf, 512).toArray(ValueLayout.JAVA_BYTE));
        assertStillServes();
    }
}
