package io.jblk.api.testing;

import io.jblk.api.BlockDevice;
import io.jblk.api.DeviceClosedException;
import io.jblk.api.Extent;
import io.jblk.api.InvalidRequestException;
import io.jblk.api.OutOfRangeException;
import io.jblk.api.ReadOnlyDeviceException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The behaviour every {@link BlockDevice} must show, checked against an in-memory {@link ShadowDisk}. Subclass it
 * once per driver and configuration; the random workloads print their seed ({@link SeededRandom}).
 */
public abstract class BlockDeviceConformanceTest {
    private static final long TIMEOUT_SECONDS = 120;

    private BlockDevice device;

    /** A new, writable device of {@code size} bytes whose content is {@link #initialContent}. */
    protected abstract BlockDevice createDevice(long size) throws Exception;

    /** Closes {@code device} and opens the same image again. */
    protected abstract BlockDevice reopen(BlockDevice device, boolean readOnly) throws Exception;

    /** What a fresh device reads as: zeros, unless the configuration has a backing file. */
    protected byte[] initialContent(long size) {
        return new byte[(int) size];
    }

    /** Whether a discarded range is guaranteed to read as zeros afterwards (else it is left unchecked). */
    protected boolean discardReadsAsZero() {
        return false;
    }

    protected long deviceSize() {
        return 8L << 20;
    }

    protected int operationCount() {
        return 300;
    }

    /** Requests in flight at once in the concurrent workload. */
    protected int queueDepth() {
        return 64;
    }

    /** Called with the closed device's last incarnation after each workload (e.g. to run {@code qemu-img check}). */
    protected void verifyAfterClose() throws Exception {
    }

    @AfterEach
    final void closeDevice() throws Exception {
        if (device != null) {
            device.close();
        }
    }

    @Test
    void randomSequentialWorkloadMatchesShadowDisk() throws Exception {
        SplittableRandom random = SeededRandom.forTest(getClass().getSimpleName() + ".sequential");
        device = createDevice(deviceSize());
        ShadowDisk shadow = new ShadowDisk(initialContent(deviceSize()));
        for (int i = 0; i < operationCount(); i++) {
            Op op = Op.random(random, device.size(), alignment());
            apply(op, shadow, random);
        }
        verifyAll(shadow);
        device = reopen(device, false);
        verifyAll(shadow);
        device.close();
        device = null;
        verifyAfterClose();
    }

    @Test
    void concurrentWorkloadMatchesShadowDisk() throws Exception {
        SplittableRandom random = SeededRandom.forTest(getClass().getSimpleName() + ".concurrent");
        device = createDevice(deviceSize());
        ShadowDisk shadow = new ShadowDisk(initialContent(deviceSize()));
        int batches = Math.max(1, operationCount() / queueDepth()) * 2;
        for (int b = 0; b < batches; b++) {
            List<Op> batch = disjointBatch(random);
            List<CompletableFuture<?>> inFlight = new ArrayList<>();
            List<MemorySegment> readBuffers = new ArrayList<>();
            Arena arena = Arena.ofShared();
            try {
                for (Op op : batch) {
                    inFlight.add(switch (op.kind) {
                        case WRITE -> device.write(op.offset, MemorySegment.ofArray(op.data(random)));
                        case ZERO -> device.writeZeroes(op.offset, op.length, random.nextBoolean());
                        case DISCARD -> device.discard(op.offset, op.length);
                        case FLUSH -> device.flush();
                        case READ -> {
                            MemorySegment buffer = arena.allocate(op.length);
                            readBuffers.add(buffer);
                            yield device.read(op.offset, buffer);
                        }
                    });
                }
                // Reads were issued against the pre-batch state of disjoint ranges: check them before updating.
                int r = 0;
                for (int i = 0; i < batch.size(); i++) {
                    await(inFlight.get(i));
                    if (batch.get(i).kind == Kind.READ) {
                        check(shadow, batch.get(i).offset, ShadowDisk.toArray(readBuffers.get(r++)));
                    }
                }
                for (Op op : batch) {
                    record(op, shadow);
                }
            } finally {
                arena.close();
            }
        }
        await(device.flush());
        verifyAll(shadow);
        device.close();
        device = null;
        verifyAfterClose();
    }

    @Test
    void flushedWritesSurviveReopen() throws Exception {
        device = createDevice(deviceSize());
        byte[] pattern = new byte[12345];
        for (int i = 0; i < pattern.length; i++) {
            pattern[i] = (byte) (i * 31 + 7);
        }
        long offset = deviceSize() / 2 + 321;
        await(device.write(offset, MemorySegment.ofArray(pattern)));
        await(device.flush());
        device = reopen(device, true);
        byte[] back = new byte[pattern.length];
        await(device.read(offset, MemorySegment.ofArray(back)));
        assertTrue(java.util.Arrays.equals(pattern, back), "data written and flushed must read back after reopen");
    }

    @Test
    void requestsBeyondTheEndFailWithTypedErrors() throws Exception {
        device = createDevice(deviceSize());
        long size = device.size();
        assertFailsWith(OutOfRangeException.class, device.read(size - 10, MemorySegment.ofArray(new byte[20])));
        assertFailsWith(OutOfRangeException.class, device.write(size, MemorySegment.ofArray(new byte[1])));
        assertFailsWith(OutOfRangeException.class, device.writeZeroes(size - 512, 1024, false));
        assertFailsWith(OutOfRangeException.class, device.discard(Long.MAX_VALUE - 10, 100));
        assertFailsWith(InvalidRequestException.class, device.writeZeroes(0, -1, false));
        assertFailsWith(InvalidRequestException.class, device.read(-512, MemorySegment.ofArray(new byte[512])));
        assertFailsWith(OutOfRangeException.class, device.blockStatus(size - 1, 2));
        // The device keeps serving valid requests afterwards.
        await(device.read(0, MemorySegment.ofArray(new byte[512])));
    }

    @Test
    void readOnlyDeviceRefusesModification() throws Exception {
        device = createDevice(deviceSize());
        device = reopen(device, true);
        assertTrue(device.isReadOnly());
        assertFailsWith(ReadOnlyDeviceException.class, device.write(0, MemorySegment.ofArray(new byte[512])));
        assertFailsWith(ReadOnlyDeviceException.class, device.writeZeroes(0, 4096, true));
        assertFailsWith(ReadOnlyDeviceException.class, device.discard(0, 4096));
        byte[] back = new byte[4096];
        await(device.read(0, MemorySegment.ofArray(back)));
        assertEquals(-1, new ShadowDisk(initialContent(deviceSize())).firstMismatch(0, back));
    }

    @Test
    void blockStatusCoversTheRangeAndZeroRunsReadAsZero() throws Exception {
        SplittableRandom random = SeededRandom.forTest(getClass().getSimpleName() + ".blockStatus");
        device = createDevice(deviceSize());
        ShadowDisk shadow = new ShadowDisk(initialContent(deviceSize()));
        for (int i = 0; i < Math.min(60, operationCount()); i++) {
            apply(Op.random(random, device.size(), alignment()), shadow, random);
        }
        long offset = random.nextLong(device.size() / 2);
        long length = device.size() - offset;
        List<Extent> extents = await(device.blockStatus(offset, length));
        long at = offset;
        for (Extent e : extents) {
            assertEquals(at, e.offset(), "extents must be contiguous: " + extents);
            assertTrue(e.length() > 0);
            if (e.zero()) {
                long probe = Math.min(e.length(), 1 << 16);
                byte[] back = new byte[(int) probe];
                await(device.read(e.offset(), MemorySegment.ofArray(back)));
                for (int i = 0; i < back.length; i++) {
                    if (back[i] != 0) {
                        fail("extent " + e + " says zero but byte " + (e.offset() + i) + " reads " + back[i]);
                    }
                }
            }
            at = e.end();
        }
        assertEquals(offset + length, at, "extents must end where the range ends");
    }

    /**
     * A block-status request limited to N extents answers the beginning of the whole answer: at most N extents, all
     * but the last identical to the whole answer's, the last one a (possibly shorter) piece of its counterpart; asking
     * again from where each answer ends and merging gives back the whole answer.
     */
    @Test
    void limitedBlockStatusAnswersABeginningOfTheWholeAnswer() throws Exception {
        SplittableRandom random = SeededRandom.forTest(getClass().getSimpleName() + ".limitedStatus");
        device = createDevice(deviceSize());
        ShadowDisk shadow = new ShadowDisk(initialContent(deviceSize()));
        for (int i = 0; i < Math.min(60, operationCount()); i++) {
            apply(Op.random(random, device.size(), alignment()), shadow, random);
        }
        long offset = random.nextLong(device.size() / 2) / alignment() * alignment();
        long length = device.size() - offset;
        List<Extent> whole = await(device.blockStatus(offset, length));
        for (int limit : new int[] {1, 2, 3, 7, whole.size(), whole.size() + 5}) {
            List<Extent> part = await(device.blockStatus(offset, length, limit));
            assertEquals(part, device.blockStatusBlocking(offset, length, limit), "blocking form, limit " + limit);
            assertTrue(!part.isEmpty() && part.size() <= limit, "limit " + limit + ": " + part);
            for (int i = 0; i < part.size() - 1; i++) {
                assertEquals(whole.get(i), part.get(i), "limit " + limit + ", extent " + i);
            }
            Extent last = part.getLast();
            Extent counterpart = whole.get(part.size() - 1);
            assertEquals(counterpart.slice(counterpart.offset(), last.length()), last,
                    "limit " + limit + ": the last extent is a beginning of the whole answer's");
        }
        io.jblk.api.ExtentCollector walked = new io.jblk.api.ExtentCollector(Integer.MAX_VALUE);
        long at = offset;
        for (int asks = 0; at < offset + length; asks++) {
            assertTrue(asks <= 2 * whole.size() + 2, "the walk with limit 2 does not advance");
            List<Extent> part = device.blockStatusBlocking(at, offset + length - at, 2);
            assertTrue(!part.isEmpty() && part.size() <= 2 && part.getFirst().offset() == at, part.toString());
            part.forEach(walked::add);
            at = part.getLast().end();
        }
        assertEquals(whole, walked.extents(), "answers of at most 2 extents, merged, give the whole answer");
        assertFailsWith(InvalidRequestException.class, device.blockStatus(0, 512, 0));
        assertEquals(List.of(), await(device.blockStatus(offset, 0, 1)), "an empty range has no extents");
    }

    @Test
    void requestsAfterCloseFail() throws Exception {
        BlockDevice closed = createDevice(deviceSize());
        closed.close();
        closed.close();
        assertFailsWith(DeviceClosedException.class, closed.read(0, MemorySegment.ofArray(new byte[512])));
    }

    /** The blocking forms, each request on a virtual thread of its own, as the NBD server and bench issue them. */
    @Test
    void blockingFormsFromVirtualThreadsMatchShadowDisk() throws Exception {
        SplittableRandom random = SeededRandom.forTest(getClass().getSimpleName() + ".blocking");
        device = createDevice(deviceSize());
        ShadowDisk shadow = new ShadowDisk(initialContent(deviceSize()));
        int batches = Math.max(1, operationCount() / queueDepth()) * 2;
        for (int b = 0; b < batches; b++) {
            List<Op> batch = disjointBatch(random);
            List<byte[]> reads = new ArrayList<>();
            List<Thread> threads = new ArrayList<>();
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            for (Op op : batch) {
                byte[] data = op.kind == Kind.WRITE ? op.data(random) : new byte[(int) op.length];
                boolean flag = random.nextBoolean();
                reads.add(data);
                threads.add(Thread.ofVirtual().start(() -> {
                    try {
                        switch (op.kind) {
                            case WRITE -> device.writeBlocking(op.offset, MemorySegment.ofArray(data), flag);
                            case ZERO -> device.writeZeroesBlocking(op.offset, op.length, flag);
                            case DISCARD -> device.discardBlocking(op.offset, op.length);
                            case FLUSH -> device.flushBlocking();
                            case READ -> device.readBlocking(op.offset, MemorySegment.ofArray(data));
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }));
            }
            for (Thread t : threads) {
                assertTrue(t.join(java.time.Duration.ofSeconds(TIMEOUT_SECONDS)), "blocking request finished");
            }
            if (!failures.isEmpty()) {
                throw new AssertionError("blocking request failed", failures.getFirst());
            }
            for (int i = 0; i < batch.size(); i++) {
                if (batch.get(i).kind == Kind.READ) {
                    check(shadow, batch.get(i).offset, reads.get(i));
                }
            }
            for (Op op : batch) {
                record(op, shadow);
            }
        }
        device.flushBlocking();
        verifyAll(shadow);
        assertEquals(await(device.blockStatus(0, device.size())), device.blockStatusBlocking(0, device.size()),
                "blocking and asynchronous block status agree");
    }

    @Test
    void blockingFormsThrowTypedErrors() throws Exception {
        device = createDevice(deviceSize());
        long size = device.size();
        assertThrowsType(OutOfRangeException.class, () -> device.readBlocking(size - 10, MemorySegment.ofArray(new byte[20])));
        assertThrowsType(OutOfRangeException.class, () -> device.writeBlocking(size, MemorySegment.ofArray(new byte[1]), false));
        assertThrowsType(OutOfRangeException.class, () -> device.writeZeroesBlocking(size - 512, 1024, false));
        assertThrowsType(OutOfRangeException.class, () -> device.discardBlocking(Long.MAX_VALUE - 10, 100));
        assertThrowsType(InvalidRequestException.class, () -> device.readBlocking(-512, MemorySegment.ofArray(new byte[512])));
        assertThrowsType(OutOfRangeException.class, () -> device.blockStatusBlocking(size - 1, 2));
        device.readBlocking(0, MemorySegment.ofArray(new byte[512]));
        device = reopen(device, true);
        assertThrowsType(ReadOnlyDeviceException.class, () -> device.writeBlocking(0, MemorySegment.ofArray(new byte[512]), false));
        assertThrowsType(ReadOnlyDeviceException.class, () -> device.discardBlocking(0, 4096));
        device.flushBlocking();
        BlockDevice closed = device;
        device = null;
        closed.close();
        assertThrowsType(DeviceClosedException.class, () -> closed.readBlocking(0, MemorySegment.ofArray(new byte[512])));
        assertThrowsType(DeviceClosedException.class, closed::flushBlocking);
    }

    private interface BlockingCall {
        void run() throws Exception;
    }

    private static void assertThrowsType(Class<? extends Throwable> type, BlockingCall call) {
        try {
            call.run();
            fail("expected " + type.getSimpleName() + " but the request succeeded");
        } catch (Exception e) {
            assertInstanceOf(type, e, "wrong failure: " + e);
        }
    }

    /** The current device, for subclasses that add their own tests. */
    protected BlockDevice device() {
        return device;
    }

    protected void setDevice(BlockDevice value) {
        device = value;
    }

    private int alignment() {
        return device.limits().requestAlignment();
    }

    private List<Op> disjointBatch(SplittableRandom random) {
        List<Op> batch = new ArrayList<>();
        for (int attempt = 0; attempt < queueDepth() * 4 && batch.size() < queueDepth(); attempt++) {
            Op op = Op.random(random, device.size(), alignment());
            if (op.kind == Kind.FLUSH || batch.stream().noneMatch(o -> o.overlaps(op))) {
                batch.add(op);
            }
        }
        return batch;
    }

    private void apply(Op op, ShadowDisk shadow, SplittableRandom random) throws Exception {
        switch (op.kind) {
            case READ -> {
                byte[] back = new byte[(int) op.length];
                await(device.read(op.offset, MemorySegment.ofArray(back)));
                check(shadow, op.offset, back);
            }
            case WRITE -> await(device.write(op.offset, MemorySegment.ofArray(op.data(random)), random.nextInt(8) == 0));
            case ZERO -> await(device.writeZeroes(op.offset, op.length, random.nextBoolean()));
            case DISCARD -> await(device.discard(op.offset, op.length));
            case FLUSH -> await(device.flush());
        }
        record(op, shadow);
    }

    private void record(Op op, ShadowDisk shadow) {
        switch (op.kind) {
            case WRITE -> shadow.write(op.offset, op.written);
            case ZERO -> shadow.zero(op.offset, op.length);
            case DISCARD -> {
                if (discardReadsAsZero()) {
                    shadow.zero(op.offset, op.length);
                } else {
                    shadow.forget(op.offset, op.length);
                }
            }
            case READ, FLUSH -> {
            }
        }
    }

    private void verifyAll(ShadowDisk shadow) throws Exception {
        int chunk = 1 << 20;
        for (long at = 0; at < shadow.size(); at += chunk) {
            int n = (int) Math.min(chunk, shadow.size() - at);
            byte[] back = new byte[n];
            await(device.read(at, MemorySegment.ofArray(back)));
            check(shadow, at, back);
        }
    }

    private static void check(ShadowDisk shadow, long offset, byte[] actual) {
        long bad = shadow.firstMismatch(offset, actual);
        if (bad >= 0) {
            fail(SeededRandom.withSeed("byte at offset " + bad + " reads " + actual[(int) (bad - offset)]
                    + ", expected " + shadow.read(bad, 1)[0], SeededRandom.seed()));
        }
    }

    protected static <T> T await(CompletableFuture<T> future) throws Exception {
        try {
            return future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    protected static void assertFailsWith(Class<? extends Throwable> type, CompletableFuture<?> future) {
        try {
            future.get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            fail("expected " + type.getSimpleName() + " but the request succeeded");
        } catch (java.util.concurrent.ExecutionException | CompletionException e) {
            assertInstanceOf(type, e.getCause(), "wrong failure: " + e.getCause());
        } catch (Exception e) {
            fail("expected " + type.getSimpleName() + ", got " + e);
        }
    }

    private enum Kind { READ, WRITE, ZERO, DISCARD, FLUSH }

    private static final class Op {
        final Kind kind;
        final long offset;
        final long length;
        byte[] written;

        Op(Kind kind, long offset, long length) {
            this.kind = kind;
            this.offset = offset;
            this.length = length;
        }

        static Op random(SplittableRandom random, long size, int alignment) {
            int roll = random.nextInt(100);
            Kind kind = roll < 35 ? Kind.READ : roll < 75 ? Kind.WRITE : roll < 87 ? Kind.ZERO
                    : roll < 96 ? Kind.DISCARD : Kind.FLUSH;
            if (kind == Kind.FLUSH) {
                return new Op(kind, 0, 0);
            }
            long unit = switch (random.nextInt(4)) {
                case 0 -> 1;            // unaligned
                case 1 -> 512;          // sector
                case 2 -> 4096;         // page / small subcluster
                default -> 65536;       // cluster
            };
            unit = Math.max(unit, alignment);
            long maxLength = Math.min(size, random.nextInt(4) == 0 ? 512 * 1024 : 24 * 1024);
            long length = Math.max(unit, (1 + random.nextLong(maxLength)) / unit * unit);
            length = Math.min(length, size / unit * unit);
            long offset = random.nextLong(size - length + 1) / unit * unit;
            return new Op(kind, offset, length);
        }

        byte[] data(SplittableRandom random) {
            written = new byte[(int) length];
            random.nextBytes(written);
            return written;
        }

        boolean overlaps(Op other) {
            return other.kind != Kind.FLUSH && offset < other.offset + other.length && other.offset < offset + length;
        }
    }
}
