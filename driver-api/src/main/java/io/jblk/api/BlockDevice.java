package io.jblk.api;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * An open disk image seen as a linear array of bytes.
 *
 * <p>Every request is asynchronous and may be issued from any thread, many at a time; completions may arrive in
 * any order. Requests are served on other threads, so buffers must be accessible from any thread (heap, global,
 * automatic or shared arena; not a confined arena). A completed write is durable only after a later {@link #flush()} completes, or at once when it was
 * issued with {@code fua}. Buffers are {@link MemorySegment}s whose length is the request length; they must stay
 * alive and untouched until the returned future completes.
 *
 * <p>Requests that are malformed fail (the future completes exceptionally) with {@link OutOfRangeException},
 * {@link InvalidRequestException} or {@link ReadOnlyDeviceException}, naming the offending values. I/O failures
 * complete the future with an {@link IOException}.
 */
public interface BlockDevice extends AutoCloseable {

    /** Virtual size in bytes. */
    long size();

    boolean isReadOnly();

    /** Alignments and limits the device prefers or requires. */
    BlockLimits limits();

    /** Reads {@code buffer.byteSize()} bytes starting at {@code offset} into {@code buffer}. */
    CompletableFuture<Void> read(long offset, MemorySegment buffer);

    /** Writes {@code data.byteSize()} bytes at {@code offset}; with {@code fua} the data is durable on completion. */
    CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua);

    default CompletableFuture<Void> write(long offset, MemorySegment data) {
        return write(offset, data, false);
    }

    /**
     * Makes {@code [offset, offset+length)} read as zeros. With {@code mayUnmap} the device may release the
     * storage behind the range; without it the range stays allocated where it was.
     */
    CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap);

    /**
     * Tells the device the range is no longer needed. Afterwards the range reads as zeros or as the backing
     * image's data, whichever the format defines; the device may ignore parts it cannot release.
     */
    CompletableFuture<Void> discard(long offset, long length);

    /** Makes every write completed before this call durable. */
    CompletableFuture<Void> flush();

    /**
     * Describes how {@code [offset, offset+length)} is stored, as contiguous non-overlapping extents in ascending
     * order that cover the range exactly, adjacent extents of identical description merged.
     */
    CompletableFuture<List<Extent>> blockStatus(long offset, long length);

    /**
     * The beginning of the {@link #blockStatus(long, long)} answer, for callers that must bound their work (an NBD
     * reply holds a limited number of descriptors, and a hostile image can make every 512 bytes a new extent, so a
     * whole answer for gigabytes can take gigabytes). Answers at most {@code maxExtents} contiguous extents in
     * ascending order describing {@code [offset, offset + n)} for some {@code 0 < n <= length} (nothing when
     * {@code length} is 0); all but the last are extents of the whole answer, and the last may end before the whole
     * answer's does. Callers that want more ask again from where the answer ended.
     *
     * <p>Drivers stop working once the answer is complete, so the cost is bounded by {@code maxExtents} and the
     * range. This default computes the whole answer and keeps its beginning: correct, but not bounded.
     *
     * @throws InvalidRequestException (in the future) unless {@code maxExtents >= 1}
     */
    default CompletableFuture<List<Extent>> blockStatus(long offset, long length, int maxExtents) {
        try {
            RequestChecks.checkExtentLimit(maxExtents);
        } catch (InvalidRequestException e) {
            return CompletableFuture.failedFuture(e);
        }
        return blockStatus(offset, length).thenApply(all -> ExtentCollector.prefix(all, maxExtents));
    }

    // ---- the same requests, blocking the calling thread ----
    //
    // For callers that dedicate a thread to a request anyway (a virtual thread per request or per queue slot, as
    // the NBD server and bench do). Drivers that can, serve these on the calling thread: no hand-off to a request
    // thread and back, which at small block sizes costs more than the work itself. Failures are thrown as the
    // future would have failed: IOException subtypes as themselves, unchecked exceptions as they were.

    /** {@link #read} and wait. */
    default void readBlocking(long offset, MemorySegment buffer) throws IOException {
        Futures.await(read(offset, buffer));
    }

    /** {@link #write(long, MemorySegment, boolean)} and wait. */
    default void writeBlocking(long offset, MemorySegment data, boolean fua) throws IOException {
        Futures.await(write(offset, data, fua));
    }

    /** {@link #writeZeroes} and wait. */
    default void writeZeroesBlocking(long offset, long length, boolean mayUnmap) throws IOException {
        Futures.await(writeZeroes(offset, length, mayUnmap));
    }

    /** {@link #discard} and wait. */
    default void discardBlocking(long offset, long length) throws IOException {
        Futures.await(discard(offset, length));
    }

    /** {@link #flush} and wait. */
    default void flushBlocking() throws IOException {
        Futures.await(flush());
    }

    /** {@link #blockStatus(long, long)} and wait. */
    default List<Extent> blockStatusBlocking(long offset, long length) throws IOException {
        return Futures.await(blockStatus(offset, length));
    }

    /** {@link #blockStatus(long, long, int)} and wait. */
    default List<Extent> blockStatusBlocking(long offset, long length, int maxExtents) throws IOException {
        return Futures.await(blockStatus(offset, length, maxExtents));
    }

    /** What {@code qemu-img info} would show about this image. */
    ImageInfo info() throws IOException;

    /** Waits for requests in flight, flushes when writable and releases every resource. Idempotent. */
    @Override
    void close() throws IOException;
}
