package io.jblk.bridge;

import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.Fixture.await;
import static io.jblk.bridge.VirtioBlkRequest.*;
import static org.junit.jupiter.api.Assertions.*;

/**
 * A hostile guest: queue 1's descriptor table is refilled with random descriptors (plausible headers, random
 * flags, NEXT links, indirect tables of random bytes, addresses inside and outside guest RAM) and random heads are
 * published. The device must return every head, never need a reset, never hang, and queue 0 keeps serving a
 * well-behaved driver correctly throughout.
 */
@ParameterizedClass
@EnumSource(value = Wiring.class, names = {"SEGMENT", "COPYING"})
class GarbageChainTest {
    @Parameter
    Wiring wiring;

    static final int ROUNDS = 150;
    static final int SCRATCH = 1 << 20;

    @TempDir
    Path dir;

    @Test
    void randomDescriptorTablesNeverBreakTheDevice() throws Exception {
        SplittableRandom random = SeededRandom.forTest("bridge-garbage-chains");
        try (Fixture f = new Fixture(wiring, dir, 4 << 20, null, false, 2, 64, null)) {
            GuestBlkDriver g = f.guest;
            assertTrue(g.initialize(ALL_FEATURES, 2, 64));
            GuestQueue hostile = g.queues.get(1);
            long scratch = f.ram.alloc(SCRATCH, 4096);
            MemorySegment scratchMem = f.ram.at(scratch, SCRATCH);
            int[] types = {T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WRITE_ZEROES, 10, 99};
            long returned = 0;
            for (int round = 0; round < ROUNDS; round++) {
                byte[] noise = new byte[SCRATCH];
                random.nextBytes(noise);
                MemorySegment.copy(MemorySegment.ofArray(noise), 0, scratchMem, 0, SCRATCH);
                for (int h = 0; h < 64; h++) { // plausible headers at the start of each 16 KiB
                    long at = h * 16384L;
                    scratchMem.set(LittleEndian.U32, at, types[random.nextInt(types.length)]);
                    scratchMem.set(LittleEndian.U64, at + 8, random.nextInt(10) == 0 ? random.nextLong()
                            : random.nextInt(8192));
                }
                MemorySegment table = hostile.descTable();
                for (int i = 0; i < hostile.size; i++) {
                    randomDescriptor(random, scratch).write(table, i);
                }
                int heads = 1 + random.nextInt(hostile.size);
                for (int i = 0; i < heads; i++) {
                    hostile.publish(random.nextInt(10) == 0 ? random.nextInt(1 << 16) : random.nextInt(hostile.size));
                }
                g.kick(hostile);
                returned += heads;
                while (hostile.usedIdxInRing() != hostile.availIdx() || f.device().requestsInFlight() != 0) {
                    g.poll(hostile);
                    Thread.onSpinWait();
                }
                g.poll(hostile);
                assertFalse(f.device().needsReset(), "round " + round);

                byte[] data = new byte[4096];
                random.nextBytes(data);
                long sector = 8 * random.nextInt(1000);
                assertEquals(S_OK, await(g.write(0, sector, data, 2, round % 2 == 0)).status());
                assertArrayEquals(data, await(g.read(0, sector, 4096, 3, round % 3 == 0)).data(),
                        "queue 0 after round " + round);
            }
            assertEquals(returned & 0xFFFF, hostile.usedIdxInRing(), "every published head came back");
        }
    }

    private static Descriptor randomDescriptor(SplittableRandom random, long scratch) {
        int kind = random.nextInt(20);
        long address = kind == 0 ? random.nextLong() : kind == 1 ? random.nextInt(1 << 30)
                : scratch + (random.nextInt(SCRATCH / 16384) * 16384L) + (random.nextInt(4) == 0
                ? random.nextInt(8192) : 0);
        int length = switch (random.nextInt(8)) {
            case 0 -> random.nextInt();
            case 1 -> 16;
            case 2 -> 1;
            case 3 -> 512 * random.nextInt(8);
            default -> random.nextInt(8192);
        };
        int flags = random.nextInt(8);
        if ((flags & Descriptor.F_INDIRECT) != 0 && random.nextBoolean()) {
            length = 16 * (1 + random.nextInt(16)); // a random table of noise
        }
        return new Descriptor(address, length, flags, random.nextInt(10) == 0 ? random.nextInt(1 << 16)
                : random.nextInt(64));
    }
}
