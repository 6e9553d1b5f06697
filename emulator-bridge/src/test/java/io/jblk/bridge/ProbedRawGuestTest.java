package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A guest behind a device opened with {@code VirtioBlkDevice.open(image, null, …)} (format probed) cannot turn its
 * raw disk into a qcow2 image: the write of a qcow2 header to sector 0 fails (IOERR, virtio-blk's only error
 * status; the driver refuses it as EPERM), the file still probes as raw, and every other write lands.
 */
class ProbedRawGuestTest {
    @TempDir
    Path dir;

    @Test
    void aGuestCannotWriteAnotherFormatsHeaderIntoAProbedRawDisk() throws Exception {
        Path qcow2 = dir.resolve("evil.qcow2");
        BlockDrivers.create(qcow2, "qcow2", CreateOptions.builder(1 << 20).build());
        byte[] header = Arrays.copyOf(Files.readAllBytes(qcow2), 512);
        Path image = dir.resolve("disk.raw");
        Files.write(image, new byte[1 << 20]);
        byte[] ordinary = new byte[4096];
        Arrays.fill(ordinary, (byte) 0x6b);
        try (GuestRam ram = new GuestRam(16L << 20); GuestBlkDriver guest = new GuestBlkDriver(ram);
             VirtioMmioTransport mmio = VirtioBlkDevice.open(image, null, OpenOptions.defaults(), ram.memory)
                     .queues(1).queueSize(16).buildMmio(guest.interruptLine())) {
            guest.attach(mmio);
            assertTrue(guest.initialize(ALL_FEATURES, 1, 16));
            assertEquals(VirtioBlkRequest.S_IOERR, await(guest.write(0, 0, header, 1, false)).status());
            assertEquals(VirtioBlkRequest.S_IOERR, await(guest.write(0, 0, Arrays.copyOf(header, 4096), 2, true))
                    .status(), "a longer write starting with the header, split over two buffers, indirect");
            assertEquals(VirtioBlkRequest.S_OK, await(guest.write(0, 8, header, 1, false)).status(),
                    "the same bytes elsewhere are data like any other");
            assertEquals(VirtioBlkRequest.S_OK, await(guest.write(0, 0, ordinary, 1, false)).status());
            assertEquals(VirtioBlkRequest.S_OK, await(guest.ranges(0, VirtioBlkRequest.T_WRITE_ZEROES,
                    new long[][] {{0, 1, 0}}, false)).status(), "zeroing sector 0 changes nothing probing sees");
        }
        assertEquals("raw", BlockDrivers.probe(image).formatName());
        byte[] file = Files.readAllBytes(image);
        assertArrayEquals(new byte[512], Arrays.copyOf(file, 512));
        assertArrayEquals(Arrays.copyOfRange(ordinary, 512, 4096), Arrays.copyOfRange(file, 512, 4096));
        assertArrayEquals(header, Arrays.copyOfRange(file, 8 * 512, 9 * 512));
    }
}
