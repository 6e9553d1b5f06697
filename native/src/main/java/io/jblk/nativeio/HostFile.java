package io.jblk.nativeio;

import io.jblk.api.Futures;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A file on the host, read and written asynchronously at byte offsets. Format drivers store images through this;
 * tests wrap it in decorators that record, reorder or fail host I/O.
 *
 * <p>Callers may pass any buffer, offset and length: when the file is opened with O_DIRECT, unaligned requests go
 * through aligned bounce buffers (read-modify-write for partial blocks) inside the implementation, so callers never
 * see EINVAL for alignment. Buffers must stay alive until the returned future completes.
 *
 * <p>Futures may complete on any thread. The native engines complete them on fresh virtual threads, never on their
 * own I/O threads, so a dependent stage may block or wait for further I/O. Buffers from a confined arena are
 * accepted: such requests are served on the calling thread.
 */
public interface HostFile extends AutoCloseable {

    /** Opens {@code path} with the best engine {@code options} allow. */
    static HostFile open(Path path, HostFileOptions options) throws IOException {
        return HostFiles.open(path, options);
    }

    Path path();

    boolean isReadOnly();

    /** Whether the file bypasses the page cache (O_DIRECT). */
    boolean isDirect();

    /** The block size O_DIRECT needs for offsets, lengths and buffer addresses (1 without O_DIRECT). */
    int alignment();

    /** Current file size in bytes. */
    long size() throws IOException;

    /** Bytes of storage the file occupies on the host (st_blocks × 512): qemu-img's "actual-size". */
    long allocatedBytes() throws IOException;

    /**
     * Reads {@code dst.byteSize()} bytes at {@code offset}. The part of {@code dst} beyond the end of the file is
     * filled with zeros; the future yields how many bytes came from the file.
     */
    CompletableFuture<Long> read(long offset, MemorySegment dst);

    /** Writes all of {@code src} at {@code offset}, extending the file if needed. */
    CompletableFuture<Void> write(long offset, MemorySegment src);

    /** Writes the buffers back to back starting at {@code offset} (one pwritev where possible). */
    CompletableFuture<Void> write(long offset, List<MemorySegment> srcs);

    /**
     * Makes {@code [offset, offset+length)} read as zeros, extending the file if needed, by the cheapest means the
     * filesystem accepts: FALLOC_FL_ZERO_RANGE, else punching a hole, else writing zeros.
     */
    CompletableFuture<Void> zeroRange(long offset, long length);

    /**
     * Releases the storage behind {@code [offset, offset+length)} without changing the file size; the range then
     * reads as zeros. Falls back to {@link #zeroRange} where holes cannot be punched.
     */
    CompletableFuture<Void> punchHole(long offset, long length);

    /** fdatasync: every write completed before this call is durable when the future completes. */
    CompletableFuture<Void> flush();

    // ---- the same operations, blocking the calling thread ----
    //
    // For callers that already run on a thread of their own (a request's virtual thread, say): the native engines
    // serve these without the hand-off to a completion thread that a future needs (the threads engine makes the
    // system call on the calling thread; io_uring wakes the parked caller straight from its reaper). Decorators that
    // override only the asynchronous methods still see every operation: these defaults go through them.

    /** {@link #read} and wait: yields how many bytes came from the file, the rest of {@code dst} is zero-filled. */
    default long readBlocking(long offset, MemorySegment dst) throws IOException {
        return Futures.await(read(offset, dst));
    }

    /** {@link #write(long, MemorySegment)} and wait. */
    default void writeBlocking(long offset, MemorySegment src) throws IOException {
        Futures.await(write(offset, src));
    }

    /** {@link #write(long, List)} and wait. */
    default void writeBlocking(long offset, List<MemorySegment> srcs) throws IOException {
        Futures.await(write(offset, srcs));
    }

    /** {@link #zeroRange} and wait. */
    default void zeroRangeBlocking(long offset, long length) throws IOException {
        Futures.await(zeroRange(offset, length));
    }

    /** {@link #punchHole} and wait. */
    default void punchHoleBlocking(long offset, long length) throws IOException {
        Futures.await(punchHole(offset, length));
    }

    /** {@link #flush} and wait. */
    default void flushBlocking() throws IOException {
        Futures.await(flush());
    }

    /** Sets the file size (ftruncate). */
    void truncate(long size) throws IOException;

    /** The first offset ≥ {@code offset} that holds data (SEEK_DATA), or -1 when only a hole follows. */
    long nextData(long offset) throws IOException;

    /** The first offset ≥ {@code offset} inside a hole (SEEK_HOLE); the file size when there is none. */
    long nextHole(long offset) throws IOException;

    /** The engine serving this file: {@code io_uring}, {@code threads} or {@code filechannel}. */
    String engineName();

    /** Why a faster engine was not used, or null when the preferred engine serves the file. */
    String engineFallbackCause();

    /** Waits for I/O in flight, then releases the file. Idempotent. */
    @Override
    void close() throws IOException;
}
