package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.DeviceClosedException;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;
import io.jblk.api.RequestChecks;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static io.jblk.bridge.VirtioBlkRequest.*;

/**
 * The disk as the guest sees it, turned back into a {@link BlockDevice} so the driver-api conformance suite runs
 * through the whole stack: every read, write, write-zeroes, discard and flush becomes a virtio-blk request issued by
 * the test guest driver (alternating queues, direct and indirect chains) through the MMIO device. Block status and
 * image info have no virtio equivalent and are answered by the block device underneath.
 */
final class VirtioGuestBlockDevice implements BlockDevice {
    private final GuestRam ram;
    private final GuestBlkDriver guest;
    private final VirtioMmioTransport mmio;
    private final BlockDevice underneath;
    private final int queues;
    private final long size;
    private final boolean readOnly;
    private final AtomicInteger next = new AtomicInteger();
    private volatile boolean closed;

    VirtioGuestBlockDevice(BlockDevice underneath, int queues) {
        this.underneath = underneath;
        this.queues = queues;
        this.ram = new GuestRam(192L << 20);
        this.guest = new GuestBlkDriver(ram);
        this.mmio = VirtioBlkDevice.builder(underneath, ram.memory).queues(queues).queueSize(128)
                .closeBlockDeviceOnClose(true).buildMmio(guest.interruptLine());
        guest.attach(mmio);
        long wanted = Fixture.ALL_FEATURES | VirtioBlkFeatures.bit(VirtioBlkFeatures.RO);
        if (!guest.initialize(wanted, queues, 128)) {
            throw new IllegalStateException("feature negotiation failed");
        }
        this.size = guest.config(0, 8) * 512;
        this.readOnly = VirtioBlkFeatures.has(guest.negotiated, VirtioBlkFeatures.RO);
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public BlockLimits limits() {
        return new BlockLimits(512, 0, 512, 4 << 20, 1L << 30);
    }

    private int queue() {
        return Math.floorMod(next.getAndIncrement(), queues);
    }

    private boolean indirect() {
        return (next.get() & 2) != 0;
    }

    private IOException checks(String op, long offset, long length, boolean write) {
        try {
            if (closed) {
                throw new DeviceClosedException("virtio guest disk");
            }
            if (write) {
                RequestChecks.checkWrite(op, offset, length, size, readOnly);
            } else {
                RequestChecks.checkRange(op, offset, length, size);
            }
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    private static CompletableFuture<Void> status(CompletableFuture<GuestBlkDriver.Result> request, String what) {
        return request.thenApply(r -> {
            if (r.status() != S_OK) {
                throw new java.util.concurrent.CompletionException(new IOException(what + ": virtio status "
                        + r.status()));
            }
            return null;
        });
    }

    private static boolean aligned(long offset, long length) {
        return offset % 512 == 0 && length % 512 == 0;
    }

    /** The enclosing whole sectors of an unaligned range: what a guest's page cache reads before patching. */
    private CompletableFuture<MemorySegment> enclosing(long offset, long length) {
        long start = offset / 512 * 512;
        long end = (offset + length + 511) / 512 * 512;
        MemorySegment sectors = MemorySegment.ofArray(new byte[(int) (end - start)]);
        return read(start, sectors).thenApply(v -> sectors);
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        IOException e = checks("read", offset, buffer.byteSize(), false);
        if (e != null) {
            return CompletableFuture.failedFuture(e);
        }
        if (!aligned(offset, buffer.byteSize())) {
            return enclosing(offset, buffer.byteSize()).thenAccept(sectors -> MemorySegment.copy(sectors,
                    offset % 512, buffer, 0, buffer.byteSize()));
        }
        return guest.read(queue(), offset / 512, (int) buffer.byteSize(), 1 + (int) (offset / 512 % 3), indirect())
                .thenApply(r -> {
                    if (r.status() != S_OK) {
                        throw new java.util.concurrent.CompletionException(new IOException("read: virtio status "
                                + r.status()));
                    }
                    MemorySegment.copy(r.data(), 0, buffer, ValueLayout.JAVA_BYTE, 0, r.data().length);
                    return null;
                });
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        IOException e = checks("write", offset, data.byteSize(), true);
        if (e != null) {
            return CompletableFuture.failedFuture(e);
        }
        if (!aligned(offset, data.byteSize())) {
            // Read-modify-write of whole sectors; only the conformance suite's sequential tests issue these.
            long start = offset / 512 * 512;
            return enclosing(offset, data.byteSize()).thenCompose(sectors -> {
                MemorySegment.copy(data, 0, sectors, offset - start, data.byteSize());
                return write(start, sectors, fua);
            });
        }
        CompletableFuture<Void> w = status(guest.write(queue(), offset / 512, data.toArray(ValueLayout.JAVA_BYTE),
                1 + (int) (offset / 512 % 4), indirect()), "write");
        return fua ? w.thenCompose(v -> flush()) : w; // virtio-blk has no FUA: a guest flushes
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        IOException e = checks("write-zeroes", offset, length, true);
        if (e == null && !aligned(offset, length)) {
            return write(offset, MemorySegment.ofArray(new byte[(int) length]), false);
        }
        return e != null ? CompletableFuture.failedFuture(e) : ranges(T_WRITE_ZEROES, offset, length, mayUnmap ? 1 : 0);
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        IOException e = checks("discard", offset, length, true);
        if (e == null && !aligned(offset, length)) {
            long start = (offset + 511) / 512 * 512; // discard is advisory: only the whole sectors inside
            long end = (offset + length) / 512 * 512;
            return end > start ? ranges(T_DISCARD, start, end - start, 0) : CompletableFuture.completedFuture(null);
        }
        return e != null ? CompletableFuture.failedFuture(e) : ranges(T_DISCARD, offset, length, 0);
    }

    /** Splits the range into segments of at most 64 KiB, several segments per request as Linux does. */
    private CompletableFuture<Void> ranges(int type, long offset, long length, int flags) {
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        int count = (int) ((length + 65535) / 65536);
        long[][] segments = new long[count][];
        for (int i = 0; i < count; i++) {
            long at = offset + i * 65536L;
            segments[i] = new long[]{at / 512, Math.min(65536, offset + length - at) / 512, flags};
        }
        return status(guest.ranges(queue(), type, segments, indirect()), type == T_DISCARD ? "discard" : "zeroes");
    }

    @Override
    public CompletableFuture<Void> flush() {
        if (closed) {
            return CompletableFuture.failedFuture(new DeviceClosedException("virtio guest disk"));
        }
        return status(guest.flush(queue()), "flush");
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        return underneath.blockStatus(offset, length);
    }

    @Override
    public ImageInfo info() throws IOException {
        return underneath.info();
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            mmio.close();
        } finally {
            guest.close();
            ram.close();
        }
    }
}
