package io.jblk.nativeio;

import java.lang.foreign.MemoryLayout;
import java.lang.foreign.StructLayout;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * The io_uring kernel ABI: syscall numbers, flags, opcodes and structure layouts, after
 * {@code include/uapi/linux/io_uring.h} (Linux 6.x; liburing-2.6 {@code src/include/liburing/io_uring.h}). Offsets are
 * derived from the layouts, never written twice.
 */
final class IoUringAbi {
    private IoUringAbi() {
    }

    /** Same numbers on x86-64 and arm64 (the unified range of syscalls added since 5.1). */
    static final long SYS_IO_URING_SETUP = 425;
    static final long SYS_IO_URING_ENTER = 426;

    // io_uring_params.flags
    static final int IORING_SETUP_CQSIZE = 1 << 3;
    static final int IORING_SETUP_CLAMP = 1 << 4;
    static final int IORING_SETUP_SUBMIT_ALL = 1 << 7;

    // io_uring_params.features
    static final int IORING_FEAT_SINGLE_MMAP = 1;

    // io_uring_enter flags
    static final int IORING_ENTER_GETEVENTS = 1;

    // mmap offsets
    static final long IORING_OFF_SQ_RING = 0;
    static final long IORING_OFF_CQ_RING = 0x8000000L;
    static final long IORING_OFF_SQES = 0x10000000L;

    // opcodes (enum io_uring_op)
    static final byte IORING_OP_NOP = 0;
    static final byte IORING_OP_WRITEV = 2;
    static final byte IORING_OP_FSYNC = 3;
    static final byte IORING_OP_FALLOCATE = 17;
    static final byte IORING_OP_READ = 22;
    static final byte IORING_OP_WRITE = 23;

    static final int IORING_FSYNC_DATASYNC = 1;

    static final StructLayout SQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"), JAVA_INT.withName("tail"), JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"), JAVA_INT.withName("flags"), JAVA_INT.withName("dropped"),
            JAVA_INT.withName("array"), JAVA_INT.withName("resv1"), JAVA_LONG.withName("user_addr"));

    static final StructLayout CQRING_OFFSETS = MemoryLayout.structLayout(
            JAVA_INT.withName("head"), JAVA_INT.withName("tail"), JAVA_INT.withName("ring_mask"),
            JAVA_INT.withName("ring_entries"), JAVA_INT.withName("overflow"), JAVA_INT.withName("cqes"),
            JAVA_INT.withName("flags"), JAVA_INT.withName("resv1"), JAVA_LONG.withName("user_addr"));

    static final StructLayout PARAMS = MemoryLayout.structLayout(
            JAVA_INT.withName("sq_entries"), JAVA_INT.withName("cq_entries"), JAVA_INT.withName("flags"),
            JAVA_INT.withName("sq_thread_cpu"), JAVA_INT.withName("sq_thread_idle"), JAVA_INT.withName("features"),
            JAVA_INT.withName("wq_fd"), MemoryLayout.sequenceLayout(3, JAVA_INT).withName("resv"),
            SQRING_OFFSETS.withName("sq_off"), CQRING_OFFSETS.withName("cq_off"));

    /** struct io_uring_sqe; the unions are named after the member jblk uses. */
    static final StructLayout SQE = MemoryLayout.structLayout(
            JAVA_BYTE.withName("opcode"), JAVA_BYTE.withName("flags"), JAVA_SHORT.withName("ioprio"),
            JAVA_INT.withName("fd"),
            JAVA_LONG.withName("off"),   // file offset
            JAVA_LONG.withName("addr"),  // buffer or iovec address; FALLOCATE: length
            JAVA_INT.withName("len"),    // bytes or iovec count; FALLOCATE: mode
            JAVA_INT.withName("rw_flags"), // fsync_flags for FSYNC
            JAVA_LONG.withName("user_data"),
            JAVA_SHORT.withName("buf_index"), JAVA_SHORT.withName("personality"), JAVA_INT.withName("splice_fd_in"),
            JAVA_LONG.withName("addr3"), JAVA_LONG.withName("pad2"));

    static final StructLayout CQE = MemoryLayout.structLayout(
            JAVA_LONG.withName("user_data"), JAVA_INT.withName("res"), JAVA_INT.withName("flags"));

    static final long PARAMS_SQ_ENTRIES = Linux.offsetOf(PARAMS, "sq_entries");
    static final long PARAMS_CQ_ENTRIES = Linux.offsetOf(PARAMS, "cq_entries");
    static final long PARAMS_FLAGS = Linux.offsetOf(PARAMS, "flags");
    static final long PARAMS_FEATURES = Linux.offsetOf(PARAMS, "features");
    static final long PARAMS_SQ_OFF = Linux.offsetOf(PARAMS, "sq_off");
    static final long PARAMS_CQ_OFF = Linux.offsetOf(PARAMS, "cq_off");

    static final long SQE_OPCODE = Linux.offsetOf(SQE, "opcode");
    static final long SQE_FD = Linux.offsetOf(SQE, "fd");
    static final long SQE_OFF = Linux.offsetOf(SQE, "off");
    static final long SQE_ADDR = Linux.offsetOf(SQE, "addr");
    static final long SQE_LEN = Linux.offsetOf(SQE, "len");
    static final long SQE_RW_FLAGS = Linux.offsetOf(SQE, "rw_flags");
    static final long SQE_USER_DATA = Linux.offsetOf(SQE, "user_data");

    static final long CQE_USER_DATA = Linux.offsetOf(CQE, "user_data");
    static final long CQE_RES = Linux.offsetOf(CQE, "res");

    /** Offset of {@code field} in the params' sq_off block. */
    static long sqOff(String field) {
        return PARAMS_SQ_OFF + Linux.offsetOf(SQRING_OFFSETS, field);
    }

    /** Offset of {@code field} in the params' cq_off block. */
    static long cqOff(String field) {
        return PARAMS_CQ_OFF + Linux.offsetOf(CQRING_OFFSETS, field);
    }
}
