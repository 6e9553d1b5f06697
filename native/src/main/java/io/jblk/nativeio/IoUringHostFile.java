package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.jblk.nativeio.IoUringAbi.*;

/**
 * Host file I/O through a private io_uring: every request is one SQE (resubmitted for the rest after a short read
 * or write, unless the short read is an O_DIRECT end of file), completions are reaped by the ring's thread. Futures
 * are completed on {@link NativeHostFile#COMPLETER}, never on the reaper, so a caller's dependent stage that blocks or
 * submits more I/O cannot stall every other completion.
 */
final class IoUringHostFile extends NativeHostFile {
    static final int RING_ENTRIES = Integer.getInteger("jblk.iouring.entries", 128);
    /** The kernel takes at most this many bytes per SQE; longer requests continue as short ones do. */
    private static final long MAX_SQE_BYTES = 1L << 30;

    private final IoUring ring;

    private IoUringHostFile(FileHandle file, HostFileOptions options, IoUring ring) throws IOException {
        super(file, options, null);
        this.ring = ring;
    }

    /** Sets up the ring first so that a refusal of io_uring is told apart from a file that cannot be opened. */
    static IoUringHostFile open(Path path, HostFileOptions options) throws IOException {
        IoUring ring = IoUring.create(RING_ENTRIES, String.valueOf(path.getFileName()));
        try {
            FileHandle file = FileHandle.open(path, options);
            try {
                return new IoUringHostFile(file, options, ring);
            } catch (IOException | RuntimeException e) {
                file.close();
                throw e;
            }
        } catch (IOException | RuntimeException e) {
            ring.close();
            throw e;
        }
    }

    @Override
    public String engineName() {
        return "io_uring";
    }

    /**
     * One request and whoever waits for it: a future (completed on {@link #COMPLETER}) or a blocked caller (unparked
     * straight from the reaper). {@link #complete} runs on the reaper and must not block.
     */
    private abstract class Op<T> implements IoUring.Completion {
        final String call;
        private CompletableFuture<T> future;
        private Waiter<T> waiter;

        Op(String call) {
            this.call = call;
        }

        /** Takes a ring slot, then submits; the future completes when the kernel is done. */
        CompletableFuture<T> start() {
            future = new CompletableFuture<>();
            ring.acquire();
            try {
                submit();
            } catch (IOException | RuntimeException e) {
                ring.release();
                future.completeExceptionally(e);
            }
            return future;
        }

        /** Takes a ring slot, submits and parks the calling thread until the kernel is done. */
        T run() throws IOException {
            waiter = new Waiter<>();
            ring.acquire();
            try {
                submit();
            } catch (IOException | RuntimeException e) {
                ring.release();
                throw e;
            }
            return waiter.await();
        }

        abstract void submit() throws IOException;

        void resubmit() {
            try {
                submit();
            } catch (IOException | RuntimeException e) {
                fail(e);
            }
        }

        void succeed(T value) {
            ring.release();
            if (waiter != null) {
                waiter.succeed(value);
            } else {
                COMPLETER.execute(() -> future.complete(value));
            }
        }

        void fail(Throwable e) {
            ring.release();
            if (waiter != null) {
                waiter.fail(e);
            } else {
                COMPLETER.execute(() -> future.completeExceptionally(e));
            }
        }

        void failErrno(long offset, long length, int res) {
            fail(new NativeIOException("io_uring " + call, path, offset, length, -res));
        }

        static boolean retryable(int res) {
            return res == -Linux.EINTR || res == -Linux.EAGAIN;
        }
    }

    /** READ or WRITE of one buffer, continued after short transfers. */
    private final class TransferOp extends Op<Long> {
        private final boolean write;
        private final long offset;
        private final MemorySegment buffer;
        private long done;

        TransferOp(boolean write, long offset, MemorySegment buffer) {
            super(write ? "write" : "read");
            this.write = write;
            this.offset = offset;
            this.buffer = buffer;
        }

        @Override
        void submit() throws IOException {
            int len = (int) Math.min(MAX_SQE_BYTES, buffer.byteSize() - done);
            ring.submit(write ? IORING_OP_WRITE : IORING_OP_READ, fd, offset + done, buffer.address() + done, len, 0, this);
        }

        @Override
        public void complete(int res) {
            if (retryable(res)) {
                resubmit();
            } else if (res < 0) {
                failErrno(offset + done, buffer.byteSize() - done, res);
            } else if (res == 0) {
                if (write) {
                    // A write that makes no progress and reports no error would loop forever: the device is full.
                    failErrno(offset + done, buffer.byteSize() - done, -28);
                } else {
                    succeed(done); // end of file
                }
            } else {
                done += res;
                // A short write goes on (the next attempt reports why it stopped); a short read may be end of file.
                if (done < buffer.byteSize() && (write || readContinuesAfterShortRead(offset, buffer, done))) {
                    resubmit();
                } else {
                    succeed(done);
                }
            }
        }
    }

    /** WRITEV of native buffers; a short result is returned as is and finished by the caller. */
    private final class WritevOp extends Op<Long> {
        private final long offset;
        private final MemorySegment iov;
        private final int count;
        private final long total;

        WritevOp(long offset, List<MemorySegment> srcs) {
            super("writev");
            this.offset = offset;
            this.count = srcs.size();
            // Auto arena: the op holds the iovec array until the kernel has completed the request.
            this.iov = Arena.ofAuto().allocate(Linux.IOVEC, count);
            long sum = 0;
            for (int i = 0; i < count; i++) {
                MemorySegment s = srcs.get(i);
                long base = i * Linux.IOVEC.byteSize();
                iov.set(ValueLayout.JAVA_LONG, base, s.address());
                iov.set(ValueLayout.JAVA_LONG, base + 8, s.byteSize());
                sum += s.byteSize();
            }
            this.total = sum;
        }

        @Override
        void submit() throws IOException {
            ring.submit(IORING_OP_WRITEV, fd, offset, iov.address(), count, 0, this);
        }

        @Override
        public void complete(int res) {
            if (retryable(res)) {
                resubmit();
            } else if (res < 0) {
                failErrno(offset, total, res);
            } else {
                succeed((long) res);
            }
        }
    }

    /** FSYNC(DATASYNC) or FALLOCATE: no result but success or -errno. */
    private final class ControlOp extends Op<Void> {
        private final byte opcode;
        private final long offset;
        private final long addr;
        private final int len;
        private final int flags;
        private final long length;

        ControlOp(String call, byte opcode, long offset, long addr, int len, int flags, long length) {
            super(call);
            this.opcode = opcode;
            this.offset = offset;
            this.addr = addr;
            this.len = len;
            this.flags = flags;
            this.length = length;
        }

        @Override
        void submit() throws IOException {
            ring.submit(opcode, fd, offset, addr, len, flags, this);
        }

        @Override
        public void complete(int res) {
            if (res == -Linux.EINTR) {
                resubmit();
            } else if (res < 0) {
                failErrno(opcode == IORING_OP_FSYNC ? -1 : offset, length, res);
            } else {
                succeed(null);
            }
        }
    }

    @Override
    CompletableFuture<Long> readNative(long offset, MemorySegment dst) {
        return new TransferOp(false, offset, dst).start();
    }

    @Override
    CompletableFuture<Void> writeNative(long offset, MemorySegment src) {
        return new TransferOp(true, offset, src).start().thenApply(n -> null);
    }

    @Override
    CompletableFuture<Long> writevNative(long offset, List<MemorySegment> srcs) {
        return new WritevOp(offset, srcs).start();
    }

    @Override
    CompletableFuture<Void> fallocateNative(int mode, long offset, long length) {
        return fallocateOp(mode, offset, length).start();
    }

    @Override
    CompletableFuture<Void> fdatasyncNative() {
        return fdatasyncOp().start();
    }

    private ControlOp fallocateOp(int mode, long offset, long length) {
        // FALLOCATE carries the length in addr and the mode in len.
        return new ControlOp("fallocate(mode 0x" + Integer.toHexString(mode) + ")", IORING_OP_FALLOCATE,
                offset, length, mode, 0, length);
    }

    private ControlOp fdatasyncOp() {
        return new ControlOp("fsync(DATASYNC)", IORING_OP_FSYNC, 0, 0, 0, IORING_FSYNC_DATASYNC, -1);
    }

    @Override
    long readNow(long offset, MemorySegment dst) throws IOException {
        return new TransferOp(false, offset, dst).run();
    }

    @Override
    void writeNow(long offset, MemorySegment src) throws IOException {
        new TransferOp(true, offset, src).run();
    }

    @Override
    long writevNow(long offset, List<MemorySegment> srcs) throws IOException {
        return new WritevOp(offset, srcs).run();
    }

    @Override
    void fallocateNow(int mode, long offset, long length) throws IOException {
        fallocateOp(mode, offset, length).run();
    }

    @Override
    void fdatasyncNow() throws IOException {
        fdatasyncOp().run();
    }

    @Override
    void closeEngine() throws IOException {
        ring.close();
    }
}
