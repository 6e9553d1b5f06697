package io.jblk.bridge;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The chain-length limit the fuzz target cannot reach with its small guest RAM: the used ring reports written bytes
 * in a u32, so a chain may hold at most 2^32 − 1 bytes. Guest RAM here is a 3 GiB sparse file mapped into memory
 * (nothing is read or written in it), buffers may overlap, so two descriptors make chains of any total length.
 */
class ChainLengthLimitTest {
    private static final long GIB = 1L << 30;
    private static final long BIG_BASE = 1L << 40;

    @TempDir
    Path dir;

    private DescriptorChain walk(long firstLength, long secondLength) throws Exception {
        Path file = dir.resolve("ram");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw");
             Arena arena = Arena.ofConfined()) {
            raf.setLength(3 * GIB);
            MemorySegment big = raf.getChannel().map(FileChannel.MapMode.READ_WRITE, 0, 3 * GIB, arena);
            MemorySegment table = arena.allocate(4096, 16);
            GuestMemory memory = GuestMemory.of(List.of(new GuestMemory.Region(0x1000, table),
                    new GuestMemory.Region(BIG_BASE, big)));
            new Descriptor(BIG_BASE, (int) firstLength, Descriptor.F_NEXT, 1).write(table, 0);
            new Descriptor(BIG_BASE, (int) secondLength, Descriptor.F_WRITE, 0).write(table, 1);
            SplitVirtqueue ring = new SplitVirtqueue(memory, 2, 0x1000, 0x1000 + 64, 0x1000 + 128, false);
            DescriptorChain chain = new ChainWalker(memory, true).walk(ring, 0);
            chain.buffers().forEach(b -> assertTrue(b.length() > 0));
            return chain;
        }
    }

    @Test
    void chainOfExactlyTheU32LimitIsAccepted() throws Exception {
        DescriptorChain chain = walk(3 * GIB, GIB - 1);
        assertEquals(ChainWalker.MAX_CHAIN_BYTES, chain.buffers().get(0).length() + chain.buffers().get(1).length());
    }

    @Test
    void chainOneByteOverTheU32LimitIsRejected() {
        DescriptorChainException e = assertThrows(DescriptorChainException.class, () -> walk(3 * GIB, GIB));
        assertTrue(e.getMessage().contains("holds more than " + ChainWalker.MAX_CHAIN_BYTES + " bytes"),
                e.getMessage());
    }
}
