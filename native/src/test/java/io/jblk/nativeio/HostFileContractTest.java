package io.jblk.nativeio;

import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@link HostFile} contract, run against every engine with and without O_DIRECT. Buffers are deliberately odd:
 * heap segments, native segments at odd addresses, offsets and lengths that are not multiples of any block size.
 */
abstract class HostFileContractTest {
    private static final long TIMEOUT = 60;

    @TempDir
    Path dir;

    private final Arena arena = Arena.ofShared();
    private final List<HostFile> opened = new ArrayList<>();

    /** The options under test, minus create/readOnly which each test sets. */
    protected abstract HostFileOptions options();

    /** The engine name {@link HostFile#engineName()} must report. */
    protected abstract String expectedEngine();

    /** Whether punching a hole releases storage (the pure-Java engine cannot). */
    protected boolean freesStorage() {
        return true;
    }

    /** Whether SEEK_DATA/SEEK_HOLE report real holes (the pure-Java engine reports the whole file as data). */
    protected boolean seesHoles() {
        return true;
    }

    @AfterEach
    void closeAll() throws IOException {
        for (HostFile f : opened) {
            f.close();
        }
        arena.close();
    }

    private HostFile create(String name) throws IOException {
        HostFile f = HostFile.open(dir.resolve(name), options().withCreate(true).withReadOnly(false));
        opened.add(f);
        return f;
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(TIMEOUT, TimeUnit.SECONDS);
    }

    private MemorySegment nativeBytes(byte[] data, int misalign) {
        MemorySegment s = arena.allocate(data.length + misalign, 4096).asSlice(misalign, data.length);
        MemorySegment.copy(MemorySegment.ofArray(data), 0, s, 0, data.length);
        return s;
    }

    private byte[] readBytes(HostFile f, long offset, int length, int misalign) throws Exception {
        MemorySegment dst = arena.allocate(length + misalign, 4096).asSlice(misalign, length);
        dst.fill((byte) 0x5a);
        await(f.read(offset, dst));
        return dst.toArray(ValueLayout.JAVA_BYTE);
    }

    private static byte[] random(SplittableRandom rnd, int length) {
        byte[] b = new byte[length];
        rnd.nextBytes(b);
        return b;
    }

    @Test
    void reportsItsEngineAndMode() throws Exception {
        HostFile f = create("engine");
        assertEquals(expectedEngine(), f.engineName());
        if (f.isDirect()) {
            assertTrue(f.alignment() >= 512 && Integer.bitCount(f.alignment()) == 1, "alignment " + f.alignment());
        } else {
            assertEquals(1, f.alignment());
        }
        assertEquals(0, f.size());
    }

    @Test
    void readPastEndOfFileZeroFills() throws Exception {
        HostFile f = create("eof");
        byte[] data = random(SeededRandom.forTest("eof"), 1000);
        await(f.write(0, MemorySegment.ofArray(data)));
        MemorySegment dst = arena.allocate(4096, 4096);
        dst.fill((byte) 0x5a);
        assertEquals(1000L, await(f.read(0, dst)));
        byte[] expected = Arrays.copyOf(data, 4096);
        assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE));

        byte[] heap = new byte[333];
        Arrays.fill(heap, (byte) 7);
        assertEquals(100L, await(f.read(900, MemorySegment.ofArray(heap))));
        assertArrayEquals(Arrays.copyOf(Arrays.copyOfRange(data, 900, 1000), 333), heap);

        dst.fill((byte) 0x5a);
        assertEquals(0L, await(f.read(1 << 20, dst)));
        assertArrayEquals(new byte[4096], dst.toArray(ValueLayout.JAVA_BYTE));
    }

    /** Fills {@code f} with 3 blocks and 100 bytes of random data (an end of file no block size divides); returns it. */
    private byte[] writeUnalignedEnd(HostFile f) throws Exception {
        byte[] data = random(SeededRandom.forTest("unaligned-end"), 3 * 4096 + 100);
        await(f.write(0, MemorySegment.ofArray(data)));
        return data;
    }

    /**
     * A file whose size is not a multiple of any block size: with O_DIRECT the kernel stops an aligned read at end of
     * file, and the position after that short read is unaligned. Reads must yield the data up to end of file and
     * zeros after it, whether they start aligned, unaligned, before or past end of file.
     */
    @Test
    void readsStraddlingAnUnalignedEndOfFile() throws Exception {
        HostFile f = create("unaligned-eof");
        byte[] data = writeUnalignedEnd(f);
        int size = data.length;
        assertEquals(size, f.size());
        int[][] reads = {
                {0, 4 * 4096}, {8192, 4 * 4096}, {8192, 8192}, {3 * 4096, 4096}, {0, 16 * 4096},
                {4096, 3 * 4096}, {size - 1, 4096}, {size - 100, 200}, {size - 4096, 8192}, {size, 4096},
                {100, 4 * 4096}, {3 * 4096 + 50, 4096}, {4 * 4096, 4096}};
        for (int[] r : reads) {
            int offset = r[0];
            int length = r[1];
            byte[] expected = new byte[length];
            int fromFile = Math.clamp(size - offset, 0, length);
            System.arraycopy(data, Math.min(offset, size), expected, 0, fromFile);
            for (int misalign : new int[] {0, 1}) {
                MemorySegment dst = arena.allocate(length + misalign, 4096).asSlice(misalign, length);
                dst.fill((byte) 0x5a);
                String what = "read of " + length + " at " + offset + (misalign > 0 ? " into an unaligned buffer" : "");
                assertEquals((long) fromFile, await(f.read(offset, dst)), what + ": bytes from the file");
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), what);
                dst.fill((byte) 0x5a);
                assertEquals((long) fromFile, f.readBlocking(offset, dst), "blocking " + what + ": bytes from the file");
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), "blocking " + what);
            }
        }
    }

    /**
     * The same reads while another thread keeps growing and shrinking the file past its unaligned end. A read that
     * stops short at the old end of file must not go on at the unaligned position after it: once the file has grown
     * the kernel would refuse that O_DIRECT read (EINVAL) instead of reporting end of file.
     */
    @Test
    void readsAtAnUnalignedEndOfFileWhileTheFileGrows() throws Exception {
        HostFile f = create("growing-eof");
        byte[] data = writeUnalignedEnd(f);
        int size = data.length;
        int offset = 8192;
        int length = 4 * 4096;
        int fromOldEnd = size - offset;
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<IOException> resizeFailure = new AtomicReference<>();
        Thread resizer = Thread.ofPlatform().start(() -> {
            try {
                while (!done.get()) {
                    f.truncate(size + 5000);
                    f.truncate(size);
                }
            } catch (IOException e) {
                resizeFailure.set(e);
            }
        });
        try {
            byte[] expected = new byte[length];
            System.arraycopy(data, offset, expected, 0, fromOldEnd);
            MemorySegment dst = arena.allocate(length, 4096);
            // Before the fix the direct engines failed within the first few dozen reads; 2000 keeps it cheap.
            for (int i = 0; i < 2000; i++) {
                dst.fill((byte) 0x5a);
                long n = i % 2 == 0 ? await(f.read(offset, dst)) : f.readBlocking(offset, dst);
                assertTrue(n >= fromOldEnd && n <= length, "read " + i + " yielded " + n + " bytes from the file");
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), "read " + i);
            }
        } finally {
            done.set(true);
            resizer.join();
        }
        assertEquals(null, resizeFailure.get(), "truncate while reading");
    }

    /** Buffers from a confined arena may only be touched by the calling thread; the engine must cope. */
    @Test
    void confinedBuffersWork() throws Exception {
        HostFile f = create("confined");
        byte[] data = random(SeededRandom.forTest("confined"), 10_000);
        try (Arena confined = Arena.ofConfined()) {
            MemorySegment src = confined.allocate(data.length, 4096);
            MemorySegment.copy(MemorySegment.ofArray(data), 0, src, 0, data.length);
            await(f.write(4096, src));
            await(f.write(20_000, List.of(src.asSlice(0, 4096), src.asSlice(4096, 4096))));
            MemorySegment dst = confined.allocate(12_288, 4096);
            assertEquals(12_288L, await(f.read(4096, dst)), "the gap up to the later write counts as file");
            assertArrayEquals(Arrays.copyOf(data, 12_288), dst.toArray(ValueLayout.JAVA_BYTE));
            MemorySegment odd = confined.allocate(8192).asSlice(1, 8190);
            assertEquals(8190L, await(f.read(20_001, odd)));
            assertArrayEquals(Arrays.copyOfRange(data, 1, 8191), odd.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void writesExtendTheFileToTheirExactEnd() throws Exception {
        HostFile f = create("extend");
        byte[] data = random(SeededRandom.forTest("extend"), 10);
        await(f.write(10_000, MemorySegment.ofArray(data)));
        assertEquals(10_010, f.size());
        byte[] back = readBytes(f, 0, 10_010, 3);
        assertArrayEquals(new byte[10_000], Arrays.copyOf(back, 10_000));
        assertArrayEquals(data, Arrays.copyOfRange(back, 10_000, 10_010));
        // An aligned native write past the end, then a short unaligned one inside the same last block.
        await(f.write(16384, nativeBytes(new byte[4096], 0)));
        assertEquals(20480, f.size());
        await(f.write(20480, MemorySegment.ofArray(new byte[] {1, 2, 3})));
        assertEquals(20483, f.size());
    }

    @Test
    void vectoredWritesLandBackToBack() throws Exception {
        HostFile f = create("vectored");
        SplittableRandom rnd = SeededRandom.forTest("vectored");
        byte[] a = random(rnd, 4096);
        byte[] b = random(rnd, 8192);
        byte[] c = random(rnd, 4096);
        // Aligned native buffers: the single-pwritev path.
        await(f.write(8192, List.of(nativeBytes(a, 0), nativeBytes(b, 0), nativeBytes(c, 0))));
        byte[] back = readBytes(f, 8192, 16384, 0);
        assertArrayEquals(concat(a, b, c), back);
        // Odd sizes, mixed heap and native: the bounce path.
        byte[] d = random(rnd, 1001);
        byte[] e = random(rnd, 17);
        byte[] g = random(rnd, 5000);
        await(f.write(123, List.of(MemorySegment.ofArray(d), nativeBytes(e, 1), MemorySegment.ofArray(g))));
        assertArrayEquals(concat(d, e, g), readBytes(f, 123, 6018, 5));
        assertArrayEquals(concat(a, b, c), readBytes(f, 8192, 16384, 0), "neighbouring data intact");
    }

    private static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }

    @Test
    void zeroRangeReadsAsZerosAndExtends() throws Exception {
        HostFile f = create("zero");
        byte[] data = random(SeededRandom.forTest("zero"), 65536);
        await(f.write(0, MemorySegment.ofArray(data)));
        await(f.zeroRange(1000, 20_000));
        byte[] expected = data.clone();
        Arrays.fill(expected, 1000, 21_000, (byte) 0);
        assertArrayEquals(expected, readBytes(f, 0, 65536, 0));
        await(f.zeroRange(60_000, 100_000));
        assertEquals(160_000, f.size());
        Arrays.fill(expected, 60_000, 65536, (byte) 0);
        assertArrayEquals(Arrays.copyOf(expected, 160_000), readBytes(f, 0, 160_000, 1));
    }

    @Test
    void punchHoleReadsAsZerosKeepsSizeAndFreesBlocks() throws Exception {
        HostFile f = create("punch");
        byte[] data = random(SeededRandom.forTest("punch"), 2 << 20);
        await(f.write(0, MemorySegment.ofArray(data)));
        await(f.flush());
        long before = f.allocatedBytes();
        assertTrue(before >= 2 << 20, "allocated " + before);
        await(f.punchHole(4096, 1 << 20));
        await(f.punchHole(3 << 20, 4096)); // past the end: nothing to free, size unchanged
        assertEquals(2 << 20, f.size());
        byte[] expected = data.clone();
        Arrays.fill(expected, 4096, 4096 + (1 << 20), (byte) 0);
        assertArrayEquals(expected, readBytes(f, 0, 2 << 20, 0));
        if (freesStorage()) {
            long after = f.allocatedBytes();
            assertTrue(after <= before - (1 << 20), "allocated " + before + " -> " + after);
        }
    }

    @Test
    void seekDataAndHole() throws Exception {
        HostFile f = create("sparse");
        f.truncate(4 << 20);
        assertEquals(4 << 20, f.size());
        await(f.write(1 << 20, nativeBytes(random(SeededRandom.forTest("sparse"), 65536), 0)));
        await(f.flush());
        if (seesHoles()) {
            assertEquals(1 << 20, f.nextData(0));
            assertEquals((1 << 20) + 65536, f.nextHole(1 << 20));
            assertEquals(-1, f.nextData(3 << 20));
            assertEquals(0, f.nextHole(0));
        } else {
            assertTrue(f.nextData(0) <= 1 << 20);
            assertTrue(f.nextHole(1 << 20) >= (1 << 20) + 65536);
        }
        assertEquals(-1, f.nextData(5 << 20));
        assertEquals(5 << 20, f.nextHole(5 << 20));
        f.truncate(1000);
        assertEquals(1000, f.size());
    }

    @Test
    void flushedDataSurvivesReopen() throws Exception {
        Path p = dir.resolve("durable");
        byte[] data = random(SeededRandom.forTest("durable"), 12345);
        try (HostFile f = HostFile.open(p, options().withCreate(true))) {
            await(f.write(77, MemorySegment.ofArray(data)));
            await(f.flush());
        }
        try (HostFile f = HostFile.open(p, options().withReadOnly(true))) {
            assertTrue(f.isReadOnly());
            assertArrayEquals(data, readBytes(f, 77, data.length, 0));
            CompletionException e = assertThrows(CompletionException.class,
                    () -> f.write(0, MemorySegment.ofArray(new byte[1])).join());
            assertInstanceOf(IOException.class, e.getCause());
        }
        assertEquals(12345 + 77, Files.size(p));
    }

    @Test
    void unalignedRequestsOnAnyMode() throws Exception {
        HostFile f = create("unaligned");
        SplittableRandom rnd = SeededRandom.forTest("unaligned");
        byte[] shadow = new byte[300_000];
        for (int i = 0; i < 200; i++) {
            int off = rnd.nextInt(shadow.length - 10_000);
            int len = 1 + rnd.nextInt(9_999);
            byte[] data = random(rnd, len);
            MemorySegment src = rnd.nextBoolean() ? MemorySegment.ofArray(data) : nativeBytes(data, rnd.nextInt(7));
            await(f.write(off, src));
            System.arraycopy(data, 0, shadow, off, len);
            int roff = rnd.nextInt(shadow.length - 10_000);
            int rlen = 1 + rnd.nextInt(9_999);
            byte[] back = readBytes(f, roff, rlen, rnd.nextInt(7));
            assertArrayEquals(Arrays.copyOfRange(shadow, roff, roff + rlen), back,
                    "read " + rlen + " at " + roff + " after op " + i);
        }
    }

    /**
     * Many threads at once against a shadow copy. Each thread owns a region; regions meet at unaligned offsets, so
     * with O_DIRECT neighbours read-modify-write the same block concurrently.
     */
    @Test
    void concurrentOperationsMatchShadow() throws Exception {
        HostFile f = create("concurrent");
        int threads = 8;
        int regionSize = 131_071;
        int fileSize = threads * regionSize;
        await(f.write(0, MemorySegment.ofArray(new byte[fileSize])));
        byte[] shadow = new byte[fileSize];
        long seed = SeededRandom.seed();
        System.out.println("[seed] concurrent: -Djblk.seed=" + seed);
        SplittableRandom root = new SplittableRandom(seed);
        List<SplittableRandom> rnds = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            rnds.add(root.split());
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int base = t * regionSize;
                SplittableRandom rnd = rnds.get(t);
                work.add(pool.submit(() -> {
                    for (int i = 0; i < 150; i++) {
                        int off = base + rnd.nextInt(regionSize - 1);
                        int len = 1 + rnd.nextInt(Math.min(20_000, base + regionSize - off));
                        int op = rnd.nextInt(10);
                        if (op < 5) {
                            byte[] data = random(rnd, len);
                            await(f.write(off, rnd.nextBoolean() ? MemorySegment.ofArray(data) : nativeBytes(data, rnd.nextInt(3) * 512)));
                            System.arraycopy(data, 0, shadow, off, len);
                        } else if (op == 5) {
                            await(f.zeroRange(off, len));
                            Arrays.fill(shadow, off, off + len, (byte) 0);
                        } else if (op == 6) {
                            await(f.punchHole(off, len));
                            Arrays.fill(shadow, off, off + len, (byte) 0);
                        } else {
                            byte[] back = readBytes(f, off, len, rnd.nextInt(2));
                            byte[] want = Arrays.copyOfRange(shadow, off, off + len);
                            if (!Arrays.equals(want, back)) {
                                throw new AssertionError(SeededRandom.withSeed(
                                        "read " + len + " at " + off + " differs from shadow", seed));
                            }
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> w : work) {
                w.get(5, TimeUnit.MINUTES);
            }
        }
        await(f.flush());
        assertArrayEquals(shadow, readBytes(f, 0, fileSize, 0), SeededRandom.withSeed("final content", seed));
        assertEquals(fileSize, f.size());
    }

    /** Threads writing single interleaved bytes of the same two blocks: with O_DIRECT, every write is a read-modify-write. */
    @Test
    void concurrentPartialWritesToSharedBlocksAreNotLost() throws Exception {
        HostFile f = create("rmw");
        int threads = 16;
        int area = 8192;
        await(f.write(0, MemorySegment.ofArray(new byte[area])));
        byte[] shadow = new byte[area];
        SplittableRandom root = SeededRandom.forTest("rmw");
        List<SplittableRandom> rnds = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            rnds.add(root.split());
        }
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int me = t;
                SplittableRandom rnd = rnds.get(t);
                work.add(pool.submit(() -> {
                    for (int i = 0; i < 200; i++) {
                        int pos = rnd.nextInt(area / threads) * threads + me;
                        byte value = (byte) (1 + rnd.nextInt(255));
                        await(f.write(pos, MemorySegment.ofArray(new byte[] {value})));
                        shadow[pos] = value;
                    }
                    return null;
                }));
            }
            for (Future<?> w : work) {
                w.get(5, TimeUnit.MINUTES);
            }
        }
        assertArrayEquals(shadow, readBytes(f, 0, area, 0));
    }

    @Test
    void manyRequestsInFlightAtOnce() throws Exception {
        HostFile f = create("inflight");
        SplittableRandom rnd = SeededRandom.forTest("inflight");
        int blocks = 512;
        byte[] shadow = random(rnd, blocks * 4096);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            writes.add(f.write(b * 4096L, nativeBytes(Arrays.copyOfRange(shadow, b * 4096, (b + 1) * 4096), 0)));
        }
        CompletableFuture.allOf(writes.toArray(CompletableFuture[]::new)).get(TIMEOUT, TimeUnit.SECONDS);
        List<CompletableFuture<Long>> reads = new ArrayList<>();
        List<MemorySegment> dsts = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            MemorySegment dst = arena.allocate(4096, 4096);
            dsts.add(dst);
            reads.add(f.read(b * 4096L, dst));
        }
        for (int b = 0; b < blocks; b++) {
            assertEquals(4096L, await(reads.get(b)));
            assertArrayEquals(Arrays.copyOfRange(shadow, b * 4096, (b + 1) * 4096), dsts.get(b).toArray(ValueLayout.JAVA_BYTE),
                    "block " + b);
        }
    }

    /** A dependent stage that waits for more I/O must not stall the engine that completes it. */
    @Test
    @Timeout(120)
    void dependentStagesMayWaitForFurtherIo() throws Exception {
        HostFile f = create("dependent");
        await(f.write(0, nativeBytes(new byte[8192], 0)));
        List<CompletableFuture<Long>> chains = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
            MemorySegment a = arena.allocate(4096, 4096);
            MemorySegment b = arena.allocate(4096, 4096);
            chains.add(f.read(0, a).thenApply(n -> n + f.read(4096, b).join()));
        }
        for (CompletableFuture<Long> c : chains) {
            assertEquals(8192L, await(c));
        }
    }

    @Test
    void closedFileRefusesEverything() throws Exception {
        HostFile f = create("closed");
        await(f.write(0, MemorySegment.ofArray(new byte[100])));
        f.close();
        f.close(); // idempotent
        MemorySegment dst = arena.allocate(100);
        CompletionException e = assertThrows(CompletionException.class, () -> f.read(0, dst).join());
        assertInstanceOf(java.nio.channels.ClosedChannelException.class, e.getCause());
        assertThrows(CompletionException.class, () -> f.write(0, dst).join());
        assertThrows(CompletionException.class, () -> f.flush().join());
        assertThrows(CompletionException.class, () -> f.zeroRange(0, 10).join());
        assertThrows(IOException.class, f::size);
    }

    /** Offsets from corrupt metadata must fail as I/O errors, never as unchecked exceptions. */
    @Test
    void impossibleRangesFailWithIOException() throws Exception {
        HostFile f = create("ranges");
        MemorySegment buf = arena.allocate(512, 512);
        for (CompletableFuture<?> op : List.of(f.read(-4096, buf), f.write(-1, buf), f.write(Long.MAX_VALUE - 10, buf),
                f.read(Long.MAX_VALUE - 10, buf))) {
            CompletionException e = assertThrows(CompletionException.class, op::join);
            assertInstanceOf(IOException.class, e.getCause(), e.getCause().toString());
        }
    }

    /** A kernel refusal (EFBIG: past ext4's 16 TiB limit) arrives as a typed error naming call, file and errno. */
    @Test
    void kernelErrorsAreTypedAndNamed() throws Exception {
        HostFile f = create("efbig");
        long far = 1L << 50;
        CompletionException e = assertThrows(CompletionException.class,
                () -> f.write(far, nativeBytes(new byte[4096], 0)).join());
        assertInstanceOf(IOException.class, e.getCause());
        if (!expectedEngine().equals("filechannel")) {
            NativeIOException n = assertInstanceOf(NativeIOException.class, e.getCause(), e.getCause().toString());
            assertEquals("EFBIG", n.errnoName());
            assertEquals(f.path(), n.path());
            assertTrue(n.getMessage().contains("write") && n.getMessage().contains(String.valueOf(far)), n.getMessage());
        }
        assertEquals(0, f.size(), "a refused write must not change the size");
    }

    @Test
    void missingFileIsReportedByName() {
        Path missing = dir.resolve("no-such-file");
        IOException e = assertThrows(IOException.class, () -> HostFile.open(missing, options().withCreate(false)));
        assertTrue(e.getMessage().contains("no-such-file"), e.getMessage());
    }

    @Test
    void secondWriterIsRefused() throws Exception {
        HostFile f = create("locked");
        assertThrows(IOException.class, () -> HostFile.open(f.path(), options()));
    }

    /**
     * The blocking forms against a shadow copy, from platform and virtual threads at once (the threads engine makes
     * the call on a platform caller's thread, hands O_DIRECT work off for a virtual one; io_uring parks either).
     */
    @Test
    void blockingFormsMatchShadowFromAnyThread() throws Exception {
        HostFile f = create("blocking");
        int threads = 6;
        int regionSize = 65_537;
        int fileSize = threads * regionSize;
        f.writeBlocking(0, MemorySegment.ofArray(new byte[fileSize]));
        byte[] shadow = new byte[fileSize];
        long seed = SeededRandom.seed();
        System.out.println("[seed] blocking: -Djblk.seed=" + seed);
        SplittableRandom root = new SplittableRandom(seed);
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            int base = t * regionSize;
            SplittableRandom rnd = root.split();
            Runnable body = () -> {
                try {
                    for (int i = 0; i < 120; i++) {
                        int off = base + rnd.nextInt(regionSize - 1);
                        int len = 1 + rnd.nextInt(Math.min(12_000, base + regionSize - off));
                        int op = rnd.nextInt(10);
                        if (op < 4) {
                            byte[] data = random(rnd, len);
                            f.writeBlocking(off, rnd.nextBoolean() ? MemorySegment.ofArray(data) : nativeBytes(data, rnd.nextInt(3) * 512));
                            System.arraycopy(data, 0, shadow, off, len);
                        } else if (op == 4) {
                            byte[] data = random(rnd, len);
                            int cut = rnd.nextInt(len + 1);
                            f.writeBlocking(off, List.of(nativeBytes(Arrays.copyOf(data, cut), 0),
                                    MemorySegment.ofArray(Arrays.copyOfRange(data, cut, len))));
                            System.arraycopy(data, 0, shadow, off, len);
                        } else if (op == 5) {
                            f.zeroRangeBlocking(off, len);
                            Arrays.fill(shadow, off, off + len, (byte) 0);
                        } else if (op == 6) {
                            f.punchHoleBlocking(off, len);
                            Arrays.fill(shadow, off, off + len, (byte) 0);
                        } else {
                            MemorySegment dst = rnd.nextBoolean() ? MemorySegment.ofArray(new byte[len])
                                    : arena.allocate(len + 512, 4096).asSlice(rnd.nextInt(2) * 512, len);
                            assertEquals(len, f.readBlocking(off, dst));
                            if (!Arrays.equals(Arrays.copyOfRange(shadow, off, off + len), dst.toArray(ValueLayout.JAVA_BYTE))) {
                                throw new AssertionError(SeededRandom.withSeed("blocking read " + len + " at " + off
                                        + " differs from shadow", seed));
                            }
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            };
            workers.add(t % 2 == 0 ? Thread.ofVirtual().start(body) : Thread.ofPlatform().start(body));
        }
        for (Thread w : workers) {
            assertTrue(w.join(java.time.Duration.ofMinutes(5)), "worker finished");
        }
        if (!failures.isEmpty()) {
            throw new AssertionError(failures.getFirst());
        }
        f.flushBlocking();
        assertArrayEquals(shadow, readBytes(f, 0, fileSize, 0), SeededRandom.withSeed("final content", seed));
        MemorySegment tail = arena.allocate(4096, 4096);
        tail.fill((byte) 0x5a);
        assertEquals(100L, f.readBlocking(fileSize - 100, tail), "bytes from the file before end of file");
        assertArrayEquals(new byte[4096 - 100], tail.asSlice(100).toArray(ValueLayout.JAVA_BYTE));
    }

    /** The blocking forms throw what the futures would have failed with, directly. */
    @Test
    void blockingFormsThrowTypedErrors() throws Exception {
        HostFile f = create("blocking-errors");
        MemorySegment buf = nativeBytes(new byte[4096], 0);
        assertThrows(IOException.class, () -> f.readBlocking(-4096, buf));
        assertThrows(IOException.class, () -> f.writeBlocking(Long.MAX_VALUE - 10, buf));
        IOException big = assertThrows(IOException.class, () -> f.writeBlocking(1L << 50, buf));
        if (!expectedEngine().equals("filechannel")) {
            NativeIOException n = assertInstanceOf(NativeIOException.class, big, big.toString());
            assertEquals("EFBIG", n.errnoName());
        }
        IOException fromVirtual = virtualWriteFailure(f, buf);
        assertInstanceOf(IOException.class, fromVirtual);
        f.close();
        assertInstanceOf(java.nio.channels.ClosedChannelException.class,
                assertThrows(IOException.class, () -> f.readBlocking(0, buf)));
        assertThrows(IOException.class, () -> f.writeBlocking(0, buf));
        assertThrows(IOException.class, f::flushBlocking);
        assertThrows(IOException.class, () -> f.zeroRangeBlocking(0, 10));
        assertThrows(IOException.class, () -> f.punchHoleBlocking(0, 10));
    }

    private static IOException virtualWriteFailure(HostFile f, MemorySegment buf) throws InterruptedException {
        IOException[] caught = new IOException[1];
        Thread.ofVirtual().start(() -> {
            try {
                f.writeBlocking(1L << 50, buf);
            } catch (IOException e) {
                caught[0] = e;
            }
        }).join();
        return caught[0];
    }
}
