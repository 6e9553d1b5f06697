package io.jblk.bridge;

import io.jblk.api.BlockDevice;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import static io.jblk.bridge.VirtioBlkRequest.S_IOERR;
import static io.jblk.bridge.VirtioBlkRequest.S_UNSUPP;

/**
 * Checks a framed virtio-blk request against the device configuration and issues it to the {@link BlockDevice}.
 * Guest buffers go to the driver as they are (direct segments of guest RAM) when guest memory offers them and
 * their addresses and lengths meet the driver's request alignment; otherwise the request is staged through one
 * aligned bounce buffer. Data for the guest (a bounced read, the GET_ID serial) is not written here: the
 * {@link Reply} carries it, and the queue copies it into guest memory when it publishes the completion, so a reset
 * can drop it and, in polled mode, the guest sees it change only inside {@code poll()}.
 *
 * <p>The future fails with {@link BlkRequestException} for a refused request and with the driver's exception for an
 * I/O error.
 *
 * <p><b>For other transports.</b> Transport-independent: {@link VirtioBlkDevice} runs every request through it, and a
 * transport that runs the rings itself (a vhost-user back-end) can do the same: walk a chain with
 * {@link ChainWalker}, frame it with {@link VirtioBlkRequest#frame}, {@link #execute} it, and when the future
 * completes, call {@link Reply#copyOut}, write the status byte at {@link VirtioBlkRequest#statusAddress()} and add
 * the used element with {@code written() + 1} bytes (docs/emulator-bridge.md shows the whole loop). Thread-safe: one
 * executor serves any number of queues and threads at once; it holds no lock and calls nothing but the block device
 * and guest memory.
 */
public final class BlkRequestExecutor {
    static final int SEGMENT_SIZE = 16;
    static final int WZ_UNMAP = 1;
    static final int SERIAL_LENGTH = 20;

    /**
     * What a request leaves for the guest: the number of bytes written into its device-writable data, and those
     * bytes when they still have to be copied in ({@code staged} into {@code into}); {@code staged} is null when the
     * driver wrote guest memory directly or nothing is written.
     */
    public record Reply(int written, MemorySegment staged, List<DescriptorChain.Buffer> into) {
        public Reply {
            into = List.copyOf(into);
        }

        /** A reply with nothing left to copy: the driver wrote guest memory itself, or nothing is written. */
        public static Reply of(int written) {
            return new Reply(written, null, List.of());
        }

        /**
         * Copies the staged bytes into the guest buffers. Call it when the completion is published, before the used
         * element that reports {@link #written()} bytes; skip it for a request dropped by a reset.
         */
        public void copyOut(GuestMemory memory) {
            if (staged != null) {
                VirtioBlkRequest.copyOut(memory, staged, into);
            }
        }
    }

    private final BlockDevice device;
    private final VirtioBlkConfig config;
    private final byte[] serial;
    private final long features;
    private final GuestMemory memory;
    private final boolean stageReads;
    private final int alignment;
    private final long chunk;

    /**
     * @param device             the block device requests go to
     * @param config             the config space offered to the driver (capacity, block size, discard limits)
     * @param serial             the GET_ID answer, at most {@link VirtioBlkDevice#SERIAL_BYTES} bytes (NUL-padded)
     * @param negotiatedFeatures the features the driver accepted (DISCARD and WRITE_ZEROES are refused without them)
     * @param memory             the guest memory every request's buffers are in
     * @param stageReads         read into a bounce buffer even when the guest buffers could take the data directly,
     *                           so the guest's memory changes only when the completion is published (polled mode)
     */
    public BlkRequestExecutor(BlockDevice device, VirtioBlkConfig config, byte[] serial, long negotiatedFeatures,
                              GuestMemory memory, boolean stageReads) {
        this.device = device;
        this.config = config;
        this.serial = serial.clone();
        this.features = negotiatedFeatures;
        this.memory = memory;
        this.stageReads = stageReads;
        this.alignment = device.limits().requestAlignment();
        long max = Math.min(device.limits().maxTransfer(), Integer.MAX_VALUE);
        this.chunk = Math.max(alignment, max / alignment * alignment);
    }

    /**
     * Checks {@code r} and starts its I/O; never blocks on it. The future completes on a block driver thread (or at
     * once for GET_ID, a refusal or a zero-length request) with what the guest is owed.
     */
    public CompletableFuture<Reply> execute(VirtioBlkRequest r) {
        try {
            return switch (r.type()) {
                case VirtioBlkRequest.T_IN -> read(r);
                case VirtioBlkRequest.T_OUT -> write(r);
                case VirtioBlkRequest.T_FLUSH -> device.flush().thenApply(v -> Reply.of(0));
                case VirtioBlkRequest.T_GET_ID -> CompletableFuture.completedFuture(getId(r));
                case VirtioBlkRequest.T_DISCARD, VirtioBlkRequest.T_WRITE_ZEROES -> ranges(r);
                default -> throw refuse(r, S_UNSUPP, "unknown request type " + Integer.toUnsignedString(r.type()));
            };
        } catch (BlkRequestException e) {
            return CompletableFuture.failedFuture(e);
        } catch (RuntimeException e) {
            // A driver (or guest memory) that throws instead of failing its future must not take the device down.
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<Reply> read(VirtioBlkRequest r) throws BlkRequestException {
        if (r.readableBytes() != 0) {
            throw refuse(r, S_IOERR, "IN request has " + r.readableBytes()
                    + " device-readable data bytes (read-only data descriptor)");
        }
        long length = r.writableBytes();
        long offset = checkRange(r, "IN", r.sector(), length);
        if (length == 0) {
            return CompletableFuture.completedFuture(Reply.of(0));
        }
        List<MemorySegment> direct = stageReads ? null : direct(r.writable());
        if (direct != null) {
            return transfer(offset, direct, false).thenApply(v -> Reply.of((int) length));
        }
        MemorySegment bounce = Arena.ofAuto().allocate(length, Math.max(alignment, 8));
        return transfer(offset, List.of(bounce), false).thenApply(v -> new Reply((int) length, bounce, r.writable()));
    }

    private CompletableFuture<Reply> write(VirtioBlkRequest r) throws BlkRequestException {
        if (r.writableBytes() != 0) {
            throw refuse(r, S_IOERR, "OUT request has " + r.writableBytes()
                    + " device-writable data bytes (writable data descriptor)");
        }
        if (device.isReadOnly()) {
            throw refuse(r, S_IOERR, "OUT to a read-only device");
        }
        long length = r.readableBytes();
        long offset = checkRange(r, "OUT", r.sector(), length);
        if (length == 0) {
            return CompletableFuture.completedFuture(Reply.of(0));
        }
        List<MemorySegment> direct = direct(r.readable());
        if (direct != null) {
            return transfer(offset, direct, true).thenApply(v -> Reply.of(0));
        }
        MemorySegment bounce = Arena.ofAuto().allocate(length, Math.max(alignment, 8));
        VirtioBlkRequest.copyIn(memory, r.readable(), bounce);
        return transfer(offset, List.of(bounce), true).thenApply(v -> Reply.of(0));
    }

    private Reply getId(VirtioBlkRequest r) {
        byte[] id = new byte[SERIAL_LENGTH];
        System.arraycopy(serial, 0, id, 0, Math.min(serial.length, SERIAL_LENGTH));
        int written = (int) Math.min(r.writableBytes(), SERIAL_LENGTH);
        return new Reply(written, MemorySegment.ofArray(id).asSlice(0, written), r.writable());
    }

    /** DISCARD and WRITE_ZEROES: an array of {sector u64, num_sectors u32, flags u32} segments. */
    private CompletableFuture<Reply> ranges(VirtioBlkRequest r) throws BlkRequestException {
        boolean zeroes = r.type() == VirtioBlkRequest.T_WRITE_ZEROES;
        String op = zeroes ? "WRITE_ZEROES" : "DISCARD";
        if (!VirtioBlkFeatures.has(features, zeroes ? VirtioBlkFeatures.WRITE_ZEROES : VirtioBlkFeatures.DISCARD)) {
            throw refuse(r, S_UNSUPP, op + " without the negotiated feature");
        }
        if (device.isReadOnly()) {
            throw refuse(r, S_IOERR, op + " to a read-only device");
        }
        long bytes = r.readableBytes();
        int maxSegments = zeroes ? config.maxWriteZeroesSeg() : config.maxDiscardSeg();
        long maxSectors = Integer.toUnsignedLong(zeroes ? config.maxWriteZeroesSectors() : config.maxDiscardSectors());
        if (bytes == 0 || bytes % SEGMENT_SIZE != 0) {
            throw refuse(r, S_IOERR, op + " payload of " + bytes + " bytes is not a non-empty array of "
                    + SEGMENT_SIZE + "-byte segments");
        }
        if (bytes / SEGMENT_SIZE > maxSegments) {
            throw refuse(r, S_IOERR, op + " has " + bytes / SEGMENT_SIZE + " segments, more than max "
                    + maxSegments);
        }
        MemorySegment p = MemorySegment.ofArray(new byte[(int) bytes]);
        VirtioBlkRequest.copyIn(memory, r.readable(), p);
        record Range(long offset, long length, boolean unmap) {
        }
        List<Range> work = new ArrayList<>();
        for (int i = 0; i < bytes / SEGMENT_SIZE; i++) {
            long sector = p.get(LittleEndian.U64, i * 16L);
            long count = Integer.toUnsignedLong(p.get(LittleEndian.U32, i * 16L + 8));
            int flags = p.get(LittleEndian.U32, i * 16L + 12);
            if ((flags & ~WZ_UNMAP) != 0 || (!zeroes && flags != 0)) {
                throw refuse(r, S_UNSUPP, op + " segment " + i + " has unsupported flags 0x"
                        + Integer.toHexString(flags));
            }
            if (count > maxSectors) {
                throw refuse(r, S_IOERR, op + " segment " + i + " of " + count + " sectors exceeds max "
                        + maxSectors);
            }
            long offset = checkRange(r, op + " segment " + i, sector, count * VirtioBlkConfig.SECTOR);
            if (count > 0) {
                work.add(new Range(offset, count * VirtioBlkConfig.SECTOR, (flags & WZ_UNMAP) != 0));
            }
        }
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        for (Range w : work) {
            futures.add(zeroes ? device.writeZeroes(w.offset(), w.length(), w.unmap() && config.writeZeroesMayUnmap())
                    : device.discard(w.offset(), w.length()));
        }
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).thenApply(v -> Reply.of(0));
    }

    /** Checks block alignment and capacity; returns the byte offset. */
    private long checkRange(VirtioBlkRequest r, String op, long sector, long length) throws BlkRequestException {
        int perBlock = config.sectorsPerBlock();
        if (length % config.blkSize() != 0 || Long.remainderUnsigned(sector, perBlock) != 0) {
            throw refuse(r, S_IOERR, op + " at sector " + Long.toUnsignedString(sector) + " of " + length
                    + " bytes is not aligned to the " + config.blkSize() + "-byte block size");
        }
        long sectors = length / VirtioBlkConfig.SECTOR;
        if (Long.compareUnsigned(sector, config.capacity()) > 0 || sectors > config.capacity() - sector) {
            throw refuse(r, S_IOERR, op + " at sector " + Long.toUnsignedString(sector) + " of " + sectors
                    + " sectors reaches beyond the capacity of " + config.capacity() + " sectors");
        }
        return sector * VirtioBlkConfig.SECTOR;
    }

    /** The buffers as direct segments the driver can take as they are, or null when any of them cannot be. */
    private List<MemorySegment> direct(List<DescriptorChain.Buffer> buffers) {
        List<MemorySegment> segments = new ArrayList<>(buffers.size());
        for (DescriptorChain.Buffer b : buffers) {
            if (b.length() % alignment != 0) {
                return null;
            }
            MemorySegment s = memory.direct(b.address(), b.length());
            if (s == null || s.byteSize() != b.length() || s.address() % alignment != 0) {
                return null;
            }
            segments.add(s);
        }
        return segments;
    }

    /** Issues consecutive reads or writes covering {@code segments}, split at the driver's transfer limit. */
    private CompletableFuture<Void> transfer(long offset, List<MemorySegment> segments, boolean write) {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        long at = offset;
        for (MemorySegment s : segments) {
            for (long p = 0; p < s.byteSize(); p += chunk) {
                MemorySegment piece = s.asSlice(p, Math.min(chunk, s.byteSize() - p));
                futures.add(write ? device.write(at, piece, false) : device.read(at, piece));
                at += piece.byteSize();
            }
        }
        return futures.size() == 1 ? futures.getFirst()
                : CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new));
    }

    private static BlkRequestException refuse(VirtioBlkRequest r, int status, String message) {
        return new BlkRequestException(status, r.statusAddress(), message);
    }
}
