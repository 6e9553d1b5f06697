package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.ReentrantLock;

import static io.jblk.nativeio.IoUringAbi.*;

/**
 * One io_uring instance: the mapped submission and completion rings, a submission side that any thread may use, and
 * one reaper thread that waits for completions and hands each to its {@link Completion}. No liburing: setup and enter
 * are raw syscalls; the ring protocol mirrors liburing's {@code io_uring_flush_sq}/{@code io_uring_peek_cqe}.
 *
 * <p>Memory ordering (liburing {@code io_uring_smp_store_release}/{@code io_uring_smp_load_acquire}): SQE fields are
 * plain writes published by a release store of the SQ tail; the CQ tail is read with acquire before reading CQEs, and
 * the CQ head is stored with release after copying them out, so the kernel never overwrites a CQE still being read.
 *
 * <p>Capacity: at most {@code sqEntries} operations are in flight (a semaphore), which keeps the SQ from filling
 * (a slot is free again once the kernel consumed it at submission) and the CQ, twice as large, from overflowing.
 */
final class IoUring implements AutoCloseable {
    /** Called on the reaper thread with the CQE's result (-errno on failure). Must not block. */
    interface Completion {
        void complete(int res);
    }

    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    private static final long STOP = -1;

    private final int ringFd;
    private final long sqMapAddress;
    private final long sqMapLength;
    private final long cqMapAddress;
    private final long cqMapLength;
    private final long sqesAddress;
    private final long sqesLength;
    private final MemorySegment sq;
    private final MemorySegment cq;
    private final MemorySegment sqes;
    private final int sqEntries;
    private final int sqMask;
    private final int cqMask;
    private final long sqTailOff;
    private final long cqHeadOff;
    private final long cqTailOff;
    private final long cqesOff;

    private final ReentrantLock submitLock = new ReentrantLock();
    private int sqTail;
    private long nextUserData;
    /** SQEs published but not yet passed to io_uring_enter; the thread that raises it from 0 submits. */
    private final AtomicInteger unsubmitted = new AtomicInteger();
    private final Map<Long, Completion> pending = new ConcurrentHashMap<>();
    private final Semaphore slots;
    private final Thread reaper;
    private volatile Throwable broken;

    private IoUring(int ringFd, MemorySegment params, String name) throws IOException {
        this.ringFd = ringFd;
        int features = params.get(ValueLayout.JAVA_INT, PARAMS_FEATURES);
        this.sqEntries = params.get(ValueLayout.JAVA_INT, PARAMS_SQ_ENTRIES);
        int cqEntries = params.get(ValueLayout.JAVA_INT, PARAMS_CQ_ENTRIES);
        long sqSize = params.get(ValueLayout.JAVA_INT, sqOff("array")) + sqEntries * 4L;
        long cqSize = params.get(ValueLayout.JAVA_INT, cqOff("cqes")) + cqEntries * CQE.byteSize();
        boolean single = (features & IORING_FEAT_SINGLE_MMAP) != 0;
        if (single) {
            sqSize = cqSize = Math.max(sqSize, cqSize);
        }
        long sqAddr = 0;
        long cqAddr = 0;
        long sqesAddr = 0;
        long sqesSize = sqEntries * SQE.byteSize();
        try {
            sqAddr = map(sqSize, IORING_OFF_SQ_RING);
            cqAddr = single ? sqAddr : map(cqSize, IORING_OFF_CQ_RING);
            sqesAddr = map(sqesSize, IORING_OFF_SQES);
        } catch (IOException e) {
            unmap(sqAddr, sqSize);
            if (!single) {
                unmap(cqAddr, cqSize);
            }
            throw e;
        }
        this.sqMapAddress = sqAddr;
        this.sqMapLength = sqSize;
        this.cqMapAddress = single ? 0 : cqAddr;
        this.cqMapLength = cqSize;
        this.sqesAddress = sqesAddr;
        this.sqesLength = sqesSize;
        this.sq = segment(sqAddr, sqSize);
        this.cq = segment(cqAddr, cqSize);
        this.sqes = segment(sqesAddr, sqesSize);
        this.sqMask = sq.get(ValueLayout.JAVA_INT, params.get(ValueLayout.JAVA_INT, sqOff("ring_mask")));
        this.cqMask = cq.get(ValueLayout.JAVA_INT, params.get(ValueLayout.JAVA_INT, cqOff("ring_mask")));
        this.sqTailOff = params.get(ValueLayout.JAVA_INT, sqOff("tail"));
        this.cqHeadOff = params.get(ValueLayout.JAVA_INT, cqOff("head"));
        this.cqTailOff = params.get(ValueLayout.JAVA_INT, cqOff("tail"));
        this.cqesOff = params.get(ValueLayout.JAVA_INT, cqOff("cqes"));
        long arrayOff = params.get(ValueLayout.JAVA_INT, sqOff("array"));
        // The SQ index array maps ring slot i to SQE i for good; only the tail moves.
        for (int i = 0; i < sqEntries; i++) {
            sq.set(ValueLayout.JAVA_INT, arrayOff + 4L * i, i);
        }
        this.sqTail = (int) INT.getAcquire(sq, sqTailOff);
        this.slots = new Semaphore(sqEntries);
        this.reaper = Thread.ofPlatform().daemon().name("jblk-uring-" + name).unstarted(this::reap);
        reaper.start();
    }

    /**
     * Creates a ring of {@code entries} submission slots (a completion ring twice that), asking for SUBMIT_ALL and
     * retrying without it on kernels that refuse the flag. Throws {@link NativeIOException} naming io_uring_setup
     * when the kernel refuses io_uring altogether (EPERM from seccomp or io_uring_disabled, ENOSYS).
     */
    static IoUring create(int entries, String name) throws IOException {
        int[] flagSets = {IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL,
                IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP, 0};
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment params = arena.allocate(PARAMS);
            long fd = -Linux.EINVAL;
            for (int flags : flagSets) {
                params.fill((byte) 0);
                params.set(ValueLayout.JAVA_INT, PARAMS_FLAGS, flags);
                params.set(ValueLayout.JAVA_INT, PARAMS_CQ_ENTRIES, entries * 2);
                fd = Linux.syscall(SYS_IO_URING_SETUP, entries, params.address(), 0, 0, 0, 0);
                if (fd != -Linux.EINVAL) {
                    break;
                }
            }
            if (fd < 0) {
                throw new NativeIOException("io_uring_setup", java.nio.file.Path.of(name), -1, -1, (int) -fd);
            }
            try {
                return new IoUring((int) fd, params, name);
            } catch (IOException | RuntimeException e) {
                Linux.close((int) fd);
                throw e;
            }
        }
    }

    private long map(long length, long offset) throws IOException {
        long addr = Linux.mmap(length, Linux.PROT_READ | Linux.PROT_WRITE, Linux.MAP_SHARED | Linux.MAP_POPULATE,
                ringFd, offset);
        if (addr < 0) {
            throw new NativeIOException("mmap(io_uring)", java.nio.file.Path.of("io_uring"), offset, length, (int) -addr);
        }
        return addr;
    }

    private static void unmap(long address, long length) {
        if (address > 0) {
            Linux.munmap(address, length);
        }
    }

    @SuppressWarnings("restricted")
    private static MemorySegment segment(long address, long length) {
        // Mapped kernel memory: the ring owns it and unmaps it in close, after the reaper has stopped.
        return MemorySegment.ofAddress(address).reinterpret(length);
    }

    /** Waits for a free slot; each submitted operation holds one until {@link #release}. */
    void acquire() {
        slots.acquireUninterruptibly();
    }

    /** Frees the slot of an operation that is completely finished (not one that is resubmitting). */
    void release() {
        slots.release();
    }

    /**
     * Queues one SQE and submits it, batching with SQEs other threads queue meanwhile. The caller holds a slot
     * ({@link #acquire}); a resubmission reuses its operation's slot.
     */
    void submit(byte opcode, int fd, long offset, long addr, int len, int rwFlags, Completion completion)
            throws IOException {
        Throwable failure = broken;
        if (failure != null) {
            throw new IOException("io_uring instance failed earlier", failure);
        }
        publish(opcode, fd, offset, addr, len, rwFlags, completion);
    }

    private void publish(byte opcode, int fd, long offset, long addr, int len, int rwFlags, Completion completion) {
        boolean submitter;
        submitLock.lock();
        try {
            long userData = completion == null ? STOP : nextUserData++;
            if (completion != null) {
                pending.put(userData, completion);
            }
            int index = sqTail & sqMask;
            long base = index * SQE.byteSize();
            for (long at = 0; at < SQE.byteSize(); at += 8) {
                sqes.set(ValueLayout.JAVA_LONG, base + at, 0L); // stale fields from an earlier op could be misread
            }
            sqes.set(ValueLayout.JAVA_BYTE, base + SQE_OPCODE, opcode);
            sqes.set(ValueLayout.JAVA_INT, base + SQE_FD, fd);
            sqes.set(ValueLayout.JAVA_LONG, base + SQE_OFF, offset);
            sqes.set(ValueLayout.JAVA_LONG, base + SQE_ADDR, addr);
            sqes.set(ValueLayout.JAVA_INT, base + SQE_LEN, len);
            sqes.set(ValueLayout.JAVA_INT, base + SQE_RW_FLAGS, rwFlags);
            sqes.set(ValueLayout.JAVA_LONG, base + SQE_USER_DATA, userData);
            sqTail++;
            INT.setRelease(sq, sqTailOff, sqTail); // publish the SQE to the kernel
            submitter = unsubmitted.getAndIncrement() == 0;
        } finally {
            submitLock.unlock();
        }
        if (submitter) {
            flush();
        }
    }

    /**
     * Passes every published SQE to the kernel, including those other threads publish while this one is in enter.
     * A hard failure of io_uring_enter fails every pending operation (this caller's included) rather than throwing,
     * so that each operation is finished exactly once.
     */
    private void flush() {
        int left = unsubmitted.get();
        while (left > 0) {
            long r = Linux.syscall(SYS_IO_URING_ENTER, ringFd, left, 0, 0, 0, 0);
            if (r == -Linux.EINTR) {
                continue;
            }
            if (r == -Linux.EAGAIN || r == -Linux.EBUSY) {
                Thread.yield(); // the kernel is short of resources or completions; the reaper is draining them
                continue;
            }
            if (r < 0) {
                fail(new NativeIOException("io_uring_enter", java.nio.file.Path.of("io_uring"), -1, left, (int) -r));
                return;
            }
            left = unsubmitted.addAndGet((int) -r);
        }
    }

    private void reap() {
        int head = (int) INT.getAcquire(cq, cqHeadOff);
        boolean stopping = false;
        while (!stopping) {
            int tail = (int) INT.getAcquire(cq, cqTailOff); // CQEs up to tail are visible after this
            if (head == tail) {
                long r = Linux.syscall(SYS_IO_URING_ENTER, ringFd, 0, 1, IORING_ENTER_GETEVENTS, 0, 0);
                if (r < 0 && r != -Linux.EINTR && r != -Linux.EAGAIN && r != -Linux.EBUSY) {
                    fail(new NativeIOException("io_uring_enter(GETEVENTS)", java.nio.file.Path.of("io_uring"), -1, -1, (int) -r));
                    return;
                }
                continue;
            }
            while (head != tail) {
                long base = cqesOff + (long) (head & cqMask) * CQE.byteSize();
                long userData = cq.get(ValueLayout.JAVA_LONG, base + CQE_USER_DATA);
                int res = cq.get(ValueLayout.JAVA_INT, base + CQE_RES);
                head++;
                INT.setRelease(cq, cqHeadOff, head); // the slot may be reused by the kernel from here on
                if (userData == STOP) {
                    stopping = true;
                    continue;
                }
                Completion c = pending.remove(userData);
                if (c != null) {
                    try {
                        c.complete(res);
                    } catch (RuntimeException | Error e) {
                        System.getLogger(IoUring.class.getName()).log(System.Logger.Level.ERROR,
                                "io_uring completion handler failed", e);
                    }
                }
            }
        }
    }

    /** Fails every pending operation: the ring can no longer be trusted to complete them. */
    private void fail(Throwable cause) {
        broken = cause;
        for (Long key : pending.keySet()) {
            Completion c = pending.remove(key);
            if (c != null) {
                c.complete(-Linux.EIO);
            }
        }
    }

    /** Stops the reaper and unmaps the rings. Only call once nothing is in flight. */
    @Override
    public void close() throws IOException {
        if (broken != null && reaper.isAlive()) {
            // The reaper may be asleep in the kernel for good; unmapping under it could crash the JVM. Leak instead.
            return;
        }
        try {
            if (broken == null && reaper.isAlive()) {
                publish(IORING_OP_NOP, -1, 0, 0, 0, 0, null); // a NOP whose completion tells the reaper to stop
            }
            boolean interrupted = false;
            while (reaper.isAlive()) {
                try {
                    reaper.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        } finally {
            unmap(sqesAddress, sqesLength);
            if (cqMapAddress != 0) {
                unmap(cqMapAddress, cqMapLength);
            }
            unmap(sqMapAddress, sqMapLength);
            Linux.close(ringFd);
        }
    }
}
