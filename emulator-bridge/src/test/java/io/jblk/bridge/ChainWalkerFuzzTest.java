package io.jblk.bridge;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Jazzer target for the virtio descriptor-chain parser: random guest RAM (one or two regions), a split virtqueue at
 * fuzzer-chosen addresses and size, random descriptor tables, indirect tables and avail ring. Every published head
 * is taken through {@link SplitVirtqueue#nextAvailable}, {@link ChainWalker#walk} and, when the chain is accepted,
 * {@link VirtioBlkRequest#frame}, and returned through the used ring, as {@code ActiveQueue} does; each input runs
 * twice, over {@link GuestMemory#of segment} memory and over {@link CopyingGuestMemory copy-only} memory.
 * <p>
 * Contract: only the bridge's typed {@link VirtioException}s (queue, chain, request) may come out, never another
 * exception and never a hang; and the walker must agree with {@link #model an independent model} written from the
 * specification's rules: it accepts exactly the chains the model accepts (so every loop, out-of-range index or
 * address, indirect table inside an indirect table, bad indirect length and readable-after-writable buffer is
 * rejected) and then returns the model's buffers, as slices of the right guest memory.
 * <p>
 * The normal build replays the committed corpus in
 * {@code src/test/resources/io/jblk/bridge/ChainWalkerFuzzTestInputs/}; to fuzz:
 * <pre>
 * JAZZER_FUZZ=1 JAZZER_INSTRUMENTATION_INCLUDES='io.jblk.**' JAZZER_MAX_DURATION=10m \
 *     mvn -B -pl emulator-bridge -am verify -Dtest='ChainWalkerFuzzTest' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class ChainWalkerFuzzTest {
    /** Far more than the worst legal input needs (4,096 heads × 5,120 steps); past this the parser is hung. */
    private static final long HANG_SECONDS = 10;
    private static final long[] BASES = {0, 0x1000, 0x4000_0000L, 0x7fff_ffff_ffff_0000L};
    private static final ExecutorService WORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "chain-walker-fuzz");
        t.setDaemon(true);
        return t;
    });

    private static final ValueLayout.OfLong LE64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfInt LE32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort LE16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private record Region(long base, byte[] bytes) {
        long end() {
            return base + bytes.length;
        }
    }

    @FuzzTest(maxDuration = "60s")
    void walkChains(FuzzedDataProvider data) throws Exception {
        List<Region> regions = new ArrayList<>();
        long base = BASES[data.consumeInt(0, BASES.length - 1)];
        int size = data.consumeInt(16, 32 << 10);
        regions.add(new Region(Math.min(base, Long.MAX_VALUE - size), new byte[size]));
        if (data.consumeBoolean()) {
            long gap = data.consumeInt(0, 1 << 20);
            int size2 = data.consumeInt(16, 32 << 10);
            long end = regions.getFirst().end();
            if (end <= Long.MAX_VALUE - gap - size2) { // no second region past the top of the address space
                regions.add(new Region(end + gap, new byte[size2]));
            }
        }
        Region first = regions.getFirst();
        int queueSize = data.consumeBoolean() ? 1 << data.consumeInt(0, 8) : data.consumeInt();
        long desc;
        long avail;
        long used;
        if (data.consumeBoolean()) { // the legacy contiguous layout, somewhere in the first region
            desc = first.base() + (data.consumeInt(0, first.bytes().length) & ~15);
            avail = desc + 16L * queueSize;
            used = (avail + 6 + 2L * queueSize + 3) & ~3L;
        } else {
            desc = address(data, regions);
            avail = address(data, regions);
            used = address(data, regions);
        }
        boolean indirect = data.consumeBoolean();
        boolean eventIdx = data.consumeBoolean();
        // The rest is guest RAM content, laid from the descriptor table on (wrapping), so short inputs shape it.
        byte[] content = data.consumeRemainingAsBytes();
        int from = (int) Math.floorMod(desc - first.base(), (long) first.bytes().length);
        for (int i = 0; i < content.length; i++) {
            first.bytes()[(from + i) % first.bytes().length] = content[i];
        }
        if (regions.size() > 1) {
            byte[] second = regions.get(1).bytes();
            for (int i = 0; i < content.length && i < second.length; i++) {
                second[i] = content[content.length - 1 - i];
            }
        }
        run(regions, queueSize, desc, avail, used, indirect, eventIdx);
    }

    private static long address(FuzzedDataProvider data, List<Region> regions) {
        return switch (data.consumeInt(0, 2)) {
            case 0 -> data.consumeLong();
            default -> {
                Region r = regions.get(data.consumeInt(0, regions.size() - 1));
                yield r.base() + data.consumeInt(0, r.bytes().length);
            }
        };
    }

    static void run(List<Region> regions, int queueSize, long desc, long avail, long used, boolean indirect,
                    boolean eventIdx) throws Exception {
        List<Region> copies = new ArrayList<>();
        for (Region r : regions) {
            copies.add(new Region(r.base(), r.bytes().clone()));
        }
        Future<Void> result = WORKER.submit(() -> {
            serve(regions, queueSize, desc, avail, used, indirect, eventIdx, false);
            // The same input again through guest memory that only copies (RAM behind an emulator's accessors).
            serve(copies, queueSize, desc, avail, used, indirect, eventIdx, true);
            return null;
        });
        try {
            result.get(HANG_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            result.cancel(true);
            throw new AssertionError("virtqueue of " + queueSize + " entries still being parsed after "
                    + HANG_SECONDS + " s");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw (Exception) e.getCause(); // anything escaping serve() is a finding
        }
    }

    /** What the device does with a kicked queue, minus the block I/O; throws only for findings. */
    private static void serve(List<Region> regions, int queueSize, long desc, long avail, long used,
                              boolean indirect, boolean eventIdx, boolean copyOnly) throws VirtioException {
        List<GuestMemory.Region> guest = new ArrayList<>();
        for (Region r : regions) {
            guest.add(new GuestMemory.Region(r.base(), MemorySegment.ofArray(r.bytes())));
        }
        GuestMemory memory = copyOnly ? new CopyingGuestMemory(guest) : GuestMemory.of(guest);
        SplitVirtqueue ring;
        try {
            ring = new SplitVirtqueue(memory, queueSize, desc, avail, used, eventIdx);
        } catch (VirtqueueException rejected) {
            requireMessage(rejected);
            return;
        }
        ChainWalker walker = new ChainWalker(memory, indirect);
        try {
            for (int head = ring.nextAvailable(); head >= 0; head = ring.nextAvailable()) {
                List<Buf> expected = model(regions, guestBytes(regions, desc, 16L * queueSize), queueSize, head,
                        indirect);
                int written = 0;
                try {
                    DescriptorChain chain = walker.walk(ring, head);
                    if (expected == null) {
                        throw new AssertionError("head " + head + ": the walker accepted a chain the specification"
                                + " rejects: " + describe(chain));
                    }
                    compare(regions, memory, head, chain, expected);
                    try {
                        VirtioBlkRequest request = VirtioBlkRequest.frame(chain, memory);
                        written = (int) request.writableBytes() + 1;
                        memory.write(request.statusAddress(), MemorySegment.ofArray(new byte[1]));
                    } catch (BlkRequestException refused) {
                        requireMessage(refused);
                    }
                } catch (DescriptorChainException rejected) {
                    requireMessage(rejected);
                    if (expected != null) {
                        throw new AssertionError("head " + head + ": the walker rejected a valid chain of "
                                + expected.size() + " buffers: " + rejected.getMessage(), rejected);
                    }
                    long status = rejected.statusAddress();
                    if (status != VirtioBlkRequest.NO_STATUS) {
                        // ActiveQueue writes IOERR there: it must be guest RAM.
                        if (guestBytes(regions, status, 1) == null) {
                            throw new AssertionError("head " + head + ": IOERR would go to 0x"
                                    + Long.toHexString(status) + ", outside guest RAM");
                        }
                        memory.write(status, MemorySegment.ofArray(new byte[]{(byte) VirtioBlkRequest.S_IOERR}));
                    }
                }
                ring.addUsed(head, written);
            }
        } catch (VirtqueueException overrun) {
            requireMessage(overrun);
        }
        ring.publishUsed();
        ring.enableNotifications();
    }

    private static void requireMessage(VirtioException e) {
        if (e.getMessage() == null || e.getMessage().isBlank()) {
            throw new AssertionError("typed rejection without a message", e);
        }
    }

    /** A buffer the model expects: guest address, length, direction. */
    private record Buf(long address, long length, boolean writable) {
    }

    /**
     * The specification's chain rules ("The Virtqueue Descriptor Table", "Indirect Descriptors"), as this device
     * applies them: the chain from {@code head} with the buffers it names, or null when the device must refuse it.
     * Written independently of {@link ChainWalker}: loops are found by remembering visited entries, and addresses
     * are checked against the region list in unsigned 64-bit arithmetic.
     */
    static List<Buf> model(List<Region> regions, MemorySegment queueTable, int queueSize, int head,
                           boolean indirectAllowed) {
        if (head >= queueSize) {
            return null;
        }
        List<Buf> out = new ArrayList<>();
        MemorySegment table = queueTable;
        int entries = queueSize;
        boolean inIndirect = false;
        Set<Integer> visited = new HashSet<>();
        boolean sawWritable = false;
        long total = 0;
        int i = head;
        while (true) {
            if (!visited.add(i)) {
                return null; // a loop
            }
            long at = 16L * i;
            long addr = table.get(LE64, at);
            long len = Integer.toUnsignedLong(table.get(LE32, at + 8));
            int flags = Short.toUnsignedInt(table.get(LE16, at + 12));
            int next = Short.toUnsignedInt(table.get(LE16, at + 14));
            boolean hasNext = (flags & 1) != 0;
            boolean write = (flags & 2) != 0;
            if ((flags & 4) != 0) {
                if (!indirectAllowed || inIndirect || hasNext || len == 0 || len % 16 != 0 || len / 16 > 1024) {
                    return null;
                }
                MemorySegment t = guestBytes(regions, addr, len);
                if (t == null) {
                    return null;
                }
                table = t;
                entries = (int) (len / 16);
                inIndirect = true;
                visited.clear();
                i = 0;
                continue;
            }
            if (len > 0 ? guestBytes(regions, addr, len) == null : addr < 0) {
                return null; // outside guest RAM (an empty buffer only needs a sane address)
            }
            if (write) {
                sawWritable = true;
            } else if (sawWritable) {
                return null; // readable after writable
            }
            total += len;
            if (total > 0xFFFF_FFFFL) {
                return null;
            }
            out.add(new Buf(addr, len, write));
            if (!hasNext) {
                return out;
            }
            if (next >= entries) {
                return null;
            }
            i = next;
        }
    }

    /** {@code [addr, addr + len)} inside one region, or null. Read from the fuzzer's arrays, not via GuestMemory. */
    private static MemorySegment guestBytes(List<Region> regions, long addr, long len) {
        for (Region r : regions) {
            long offset = addr - r.base();
            // unsigned: addresses past 2^63 are huge, never negative
            if (Long.compareUnsigned(addr, r.base()) >= 0 && Long.compareUnsigned(offset, r.bytes().length) < 0
                    && len <= r.bytes().length - offset) {
                return MemorySegment.ofArray(r.bytes()).asSlice(offset, len);
            }
        }
        return null;
    }

    private static void compare(List<Region> regions, GuestMemory memory, int head, DescriptorChain chain,
                                List<Buf> expected) {
        if (chain.head() != head || chain.buffers().size() != expected.size()) {
            throw new AssertionError("head " + head + ": walker says " + describe(chain) + ", model " + expected);
        }
        for (int k = 0; k < expected.size(); k++) {
            DescriptorChain.Buffer got = chain.buffers().get(k);
            Buf want = expected.get(k);
            if (got.address() != want.address() || got.length() != want.length() || got.writable() != want.writable()) {
                throw new AssertionError("head " + head + " buffer " + k + ": walker says " + describe(chain)
                        + ", model " + expected);
            }
            if (want.length() > 0 && !(memory instanceof CopyingGuestMemory)) {
                MemorySegment m = memory.direct(got.address(), got.length());
                MemorySegment w = guestBytes(regions, want.address(), want.length());
                if (m.heapBase().isEmpty() || m.heapBase().get() != w.heapBase().get() || m.address() != w.address()) {
                    throw new AssertionError("head " + head + " buffer " + k + " at guest 0x"
                            + Long.toHexString(want.address()) + " is not a slice of the guest RAM behind it");
                }
            }
        }
    }

    private static String describe(DescriptorChain chain) {
        StringBuilder s = new StringBuilder("[");
        for (DescriptorChain.Buffer b : chain.buffers()) {
            s.append(String.format("0x%x+%d%s ", b.address(), b.length(), b.writable() ? "W" : "R"));
        }
        return s.append(']').toString();
    }
}
