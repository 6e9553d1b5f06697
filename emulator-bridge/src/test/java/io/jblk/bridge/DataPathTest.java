package io.jblk.bridge;

import io.jblk.api.testing.SeededRandom;
import io.jblk.api.testing.ShadowDisk;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static org.junit.jupiter.api.Assertions.*;

/** Reads, writes, flush, discard, write-zeroes and GET_ID through guest driver → MMIO → virtqueue → raw image. */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING"})
class DataPathTest {
    @Parameter
    Wiring wiring;

    @TempDir
    Path dir;

    @Test
    void guestBuffersGoToTheDriverWithoutCopyUnlessTheDriverNeedsAlignmentOrMemoryOnlyCopies() throws Exception {
        ControlledDevice[] held = new ControlledDevice[1];
        try (Fixture f = new Fixture(wiring, dir, 1 << 20, null, false, 1, 16, d -> held[0] = new ControlledDevice(d,
                new io.jblk.api.BlockLimits(4096, 0, 4096, 1 << 20, 1L << 30)))) {
            assertTrue(f.guest.initialize(ALL_FEATURES, 1, 16));
            long ramStart = f.ram.ram.address();
            long ramEnd = ramStart + f.ram.ram.byteSize();
            assertEquals(VirtioBlkRequest.S_OK, await(f.guest.read(0, 8, 8192, 2, false)).status());
            if (wiring.memory == Wiring.MemoryKind.SEGMENT) {
                assertEquals(2, held[0].readBuffers.size(), "one driver read per aligned guest segment");
                for (long address : held[0].readBuffers) {
                    assertTrue(address >= ramStart && address < ramEnd, "a slice of guest RAM, not a copy");
                }
            } else {
                assertEquals(1, held[0].readBuffers.size(), "copy-only guest memory: one bounced read");
                long bounce = held[0].readBuffers.getFirst();
                assertTrue(bounce < ramStart || bounce >= ramEnd, "a bounce buffer outside guest RAM");
                assertTrue(((CopyingGuestMemory) f.ram.memory).writes.get() > 0, "the data was copied in");
            }
            held[0].readBuffers.clear();
            assertEquals(VirtioBlkRequest.S_OK, await(f.guest.read(0, 8, 8192, 3, false)).status());
            assertEquals(1, held[0].readBuffers.size(), "segments of 2730/2731 bytes: one bounced read");
            long bounce = held[0].readBuffers.getFirst();
            assertTrue(bounce < ramStart || bounce >= ramEnd, "an aligned bounce buffer outside guest RAM");
            assertEquals(0, bounce % 4096);
        }
    }

    @Test
    void everyRequestTypeMatchesTheShadowDisk() throws Exception {
        int size = 4 << 20;
        SplittableRandom random = SeededRandom.forTest("bridge-datapath");
        byte[] initial = new byte[size];
        random.nextBytes(initial);
        ShadowDisk shadow = new ShadowDisk(initial);
        try (Fixture f = new Fixture(wiring, dir, size, initial, false, 2, 64, null)) {
            assertTrue(f.guest.initialize(ALL_FEATURES, 2, 64));
            GuestBlkDriver g = f.guest;

            var r = await(g.read(0, 8, 4096, 1, false));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            assertEquals(4096 + 1, r.usedLength(), "used len counts the data and the status byte");
            assertArrayEquals(shadow.read(8 * 512, 4096), r.data());

            byte[] data = new byte[12288];
            random.nextBytes(data);
            r = await(g.write(1, 100, data, 3, true));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            assertEquals(1, r.usedLength(), "an OUT request writes only the status byte");
            shadow.write(100 * 512, data);

            r = await(g.read(0, 96, 20480, 5, true));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            assertArrayEquals(shadow.read(96 * 512, 20480), r.data());

            // segments split at odd byte boundaries: framing works on the byte stream, not on descriptors
            r = await(g.read(1, 0, 1024, 7, false));
            assertArrayEquals(shadow.read(0, 1024), r.data());

            r = await(g.ranges(0, VirtioBlkRequest.T_WRITE_ZEROES, new long[][]{{200, 16, 0}, {400, 8, 1}}, false));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            shadow.zero(200 * 512, 16 * 512);
            shadow.zero(400 * 512, 8 * 512);

            r = await(g.ranges(1, VirtioBlkRequest.T_DISCARD, new long[][]{{1024, 64, 0}}, true));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            shadow.forget(1024 * 512, 64 * 512);

            r = await(g.flush(0));
            assertEquals(VirtioBlkRequest.S_OK, r.status());

            r = await(g.getId(1));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            assertEquals("jblk-test-serial\0\0\0\0", new String(r.data(), java.nio.charset.StandardCharsets.US_ASCII));
            assertEquals(21, r.usedLength());

            r = await(g.read(0, 0, size, 16, true));
            assertEquals(VirtioBlkRequest.S_OK, r.status());
            assertEquals(-1, shadow.firstMismatch(0, r.data()));
        }
        assertEquals(-1, shadow.firstMismatch(0, Files.readAllBytes(dir.resolve("disk.raw"))),
                "image file content after close");
    }
}
