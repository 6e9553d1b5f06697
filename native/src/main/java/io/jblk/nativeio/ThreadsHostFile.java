package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * Synchronous pread/pwrite/fallocate/fdatasync on a shared pool of platform threads. Platform, not virtual: a thread
 * blocked in a native call pins its carrier, so virtual threads would cap the I/O depth at the number of cores. The
 * pool size ({@code -Djblk.threads.poolSize}, default 16) is the engine's maximum queue depth.
 */
final class ThreadsHostFile extends NativeHostFile {
    private static final int POOL_SIZE = Integer.getInteger("jblk.threads.poolSize", 16);
    private static final ExecutorService POOL = pool();

    private static ExecutorService pool() {
        ThreadPoolExecutor executor = new ThreadPoolExecutor(POOL_SIZE, POOL_SIZE, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), Thread.ofPlatform().daemon().name("jblk-io-", 0).factory());
        executor.allowCoreThreadTimeOut(true);
        return executor;
    }

    private ThreadsHostFile(FileHandle file, HostFileOptions options, String fallbackCause) throws IOException {
        super(file, options, fallbackCause);
    }

    static ThreadsHostFile open(java.nio.file.Path path, HostFileOptions options, String fallbackCause) throws IOException {
        FileHandle file = FileHandle.open(path, options);
        try {
            return new ThreadsHostFile(file, options, fallbackCause);
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public String engineName() {
        return "threads";
    }

    /** Runs {@code task} on the pool and completes its future on {@link #COMPLETER}, keeping pool threads for I/O. */
    private static <T> CompletableFuture<T> onPool(IoSupplier<T> task) {
        CompletableFuture<T> future = new CompletableFuture<>();
        try {
            POOL.execute(() -> {
                try {
                    T value = task.get();
                    COMPLETER.execute(() -> future.complete(value));
                } catch (IOException | RuntimeException | Error e) {
                    COMPLETER.execute(() -> future.completeExceptionally(e));
                }
            });
        } catch (RuntimeException e) {
            future.completeExceptionally(e);
        }
        return future;
    }

    /**
     * Runs {@code task} for a blocked caller: on the calling thread when that is cheap, else on the pool, which
     * wakes the caller directly. A virtual thread in a native call pins its carrier, so a virtual caller makes the
     * call itself only when it returns in microseconds (page-cache copies, allocation changes), not when it waits
     * for the device (O_DIRECT transfers, fdatasync).
     */
    private static <T> T blocking(boolean waitsForDevice, IoSupplier<T> task) throws IOException {
        if (!waitsForDevice || !Thread.currentThread().isVirtual()) {
            return task.get();
        }
        Waiter<T> waiter = new Waiter<>();
        POOL.execute(() -> {
            try {
                waiter.succeed(task.get());
            } catch (IOException | RuntimeException | Error e) {
                waiter.fail(e);
            }
        });
        return waiter.await();
    }

    private NativeIOException failure(String call, long offset, long length, long result) {
        return new NativeIOException(call, path, offset, length, (int) -result);
    }

    private long pread(long offset, MemorySegment dst) throws IOException {
        long done = 0;
        long length = dst.byteSize();
        while (done < length) {
            long r = Linux.pread(fd, dst.asSlice(done), offset + done);
            if (r == 0) {
                break; // end of file
            }
            if (r < 0) {
                if (r == -Linux.EINTR || r == -Linux.EAGAIN) {
                    continue;
                }
                throw failure("pread", offset + done, length - done, r);
            }
            done += r;
            if (done < length && !readContinuesAfterShortRead(offset, dst, done)) {
                break; // end of file at an unaligned position (O_DIRECT)
            }
        }
        return done;
    }

    private Void pwrite(long offset, MemorySegment src) throws IOException {
        long done = 0;
        long length = src.byteSize();
        while (done < length) {
            long r = Linux.pwrite(fd, src.asSlice(done), offset + done);
            if (r < 0 && (r == -Linux.EINTR || r == -Linux.EAGAIN)) {
                continue;
            }
            if (r <= 0) {
                // A zero-byte write that is not a failure would loop forever; report it as the ENOSPC it means.
                throw failure("pwrite", offset + done, length - done, r == 0 ? -28 : r);
            }
            done += r;
        }
        return null;
    }

    private long pwritev(long offset, List<MemorySegment> srcs) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment iov = arena.allocate(Linux.IOVEC, srcs.size());
            long total = 0;
            for (int i = 0; i < srcs.size(); i++) {
                MemorySegment s = srcs.get(i);
                long base = i * Linux.IOVEC.byteSize();
                iov.set(ValueLayout.ADDRESS, base, s);
                iov.set(ValueLayout.JAVA_LONG, base + 8, s.byteSize());
                total += s.byteSize();
            }
            while (true) {
                long r = Linux.pwritev(fd, iov, srcs.size(), offset);
                if (r == -Linux.EINTR || r == -Linux.EAGAIN) {
                    continue;
                }
                if (r < 0) {
                    throw failure("pwritev", offset, total, r);
                }
                return r;
            }
        }
    }

    private Void fallocate(int mode, long offset, long length) throws IOException {
        int r;
        do {
            r = Linux.fallocate(fd, mode, offset, length);
        } while (r == -Linux.EINTR);
        if (r < 0) {
            throw failure("fallocate(mode 0x" + Integer.toHexString(mode) + ")", offset, length, r);
        }
        return null;
    }

    private Void fdatasync() throws IOException {
        int r;
        do {
            r = Linux.fdatasync(fd);
        } while (r == -Linux.EINTR);
        if (r < 0) {
            throw failure("fdatasync", -1, -1, r);
        }
        return null;
    }

    @Override
    CompletableFuture<Long> readNative(long offset, MemorySegment dst) {
        return onPool(() -> pread(offset, dst));
    }

    @Override
    CompletableFuture<Void> writeNative(long offset, MemorySegment src) {
        return onPool(() -> pwrite(offset, src));
    }

    @Override
    CompletableFuture<Long> writevNative(long offset, List<MemorySegment> srcs) {
        return onPool(() -> pwritev(offset, srcs));
    }

    @Override
    CompletableFuture<Void> fallocateNative(int mode, long offset, long length) {
        return onPool(() -> fallocate(mode, offset, length));
    }

    @Override
    CompletableFuture<Void> fdatasyncNative() {
        return onPool(this::fdatasync);
    }

    @Override
    long readNow(long offset, MemorySegment dst) throws IOException {
        return blocking(isDirect(), () -> pread(offset, dst));
    }

    @Override
    void writeNow(long offset, MemorySegment src) throws IOException {
        blocking(isDirect(), () -> pwrite(offset, src));
    }

    @Override
    long writevNow(long offset, List<MemorySegment> srcs) throws IOException {
        return blocking(isDirect(), () -> pwritev(offset, srcs));
    }

    @Override
    void fallocateNow(int mode, long offset, long length) throws IOException {
        blocking(false, () -> fallocate(mode, offset, length));
    }

    @Override
    void fdatasyncNow() throws IOException {
        blocking(true, this::fdatasync);
    }

    @Override
    void closeEngine() {
        // The pool is shared by all files; nothing belongs to this one.
    }
}
