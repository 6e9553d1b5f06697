package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockLimits;
import io.jblk.api.Extent;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Wraps the device under test and journals every mutating request and flush with the shared clock, so the
 * {@link CrashOracle} knows, for any crash time, what was acknowledged and what was made durable.
 */
public final class JournalingBlockDevice implements BlockDevice, ResizableDevice {
    private final BlockDevice device;
    private final HostOpLog clock;
    private final List<GuestEvent> events = new ArrayList<>();

    public JournalingBlockDevice(BlockDevice device, HostOpLog clock) {
        this.device = device;
        this.clock = clock;
    }

    public synchronized List<GuestEvent> events() {
        return List.copyOf(events);
    }

    private synchronized int add(GuestEvent event) {
        events.add(event);
        return events.size() - 1;
    }

    private synchronized void ack(int index, long at) {
        GuestEvent e = events.get(index);
        events.set(index, switch (e) {
            case GuestEvent.Write w -> new GuestEvent.Write(w.offset(), w.data(), w.issuedAt(), at);
            case GuestEvent.Zeroes z -> new GuestEvent.Zeroes(z.offset(), z.length(), z.issuedAt(), at);
            case GuestEvent.Discard d -> new GuestEvent.Discard(d.offset(), d.length(), d.issuedAt(), at);
            case GuestEvent.Flush f -> new GuestEvent.Flush(f.issuedAt(), at);
            case GuestEvent.Resize r -> new GuestEvent.Resize(r.newSize(), r.issuedAt(), at);
        });
    }

    private CompletableFuture<Void> journal(GuestEvent pending, CompletableFuture<Void> request) {
        int index = add(pending);
        return request.thenRun(() -> ack(index, clock.tick()));
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment data, boolean fua) {
        byte[] copy = data.toArray(ValueLayout.JAVA_BYTE);
        long issued = clock.tick();
        int index = add(new GuestEvent.Write(offset, copy, issued, Long.MAX_VALUE));
        return device.write(offset, data, fua).thenRun(() -> {
            long at = clock.tick();
            ack(index, at);
            if (fua) {
                add(new GuestEvent.Flush(issued, at)); // FUA: durable on completion, as if flushed right after
            }
        });
    }

    @Override
    public CompletableFuture<Void> writeZeroes(long offset, long length, boolean mayUnmap) {
        long issued = clock.tick();
        return journal(new GuestEvent.Zeroes(offset, length, issued, Long.MAX_VALUE),
                device.writeZeroes(offset, length, mayUnmap));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        long issued = clock.tick();
        return journal(new GuestEvent.Discard(offset, length, issued, Long.MAX_VALUE), device.discard(offset, length));
    }

    @Override
    public CompletableFuture<Void> flush() {
        long issued = clock.tick();
        return journal(new GuestEvent.Flush(issued, Long.MAX_VALUE), device.flush());
    }

    /** Journals a resize; the wrapped device must be a {@link ResizableDevice}. */
    @Override
    public void resize(long newSize) throws IOException {
        if (!(device instanceof ResizableDevice resizable)) {
            throw new UnsupportedOperationException(device.getClass().getSimpleName() + " cannot resize");
        }
        int index = add(new GuestEvent.Resize(newSize, clock.tick(), Long.MAX_VALUE));
        resizable.resize(newSize);
        ack(index, clock.tick());
    }

    @Override
    public long size() {
        return device.size();
    }

    @Override
    public boolean isReadOnly() {
        return device.isReadOnly();
    }

    @Override
    public BlockLimits limits() {
        return device.limits();
    }

    @Override
    public CompletableFuture<Void> read(long offset, MemorySegment buffer) {
        return device.read(offset, buffer);
    }

    @Override
    public CompletableFuture<List<Extent>> blockStatus(long offset, long length) {
        return device.blockStatus(offset, length);
    }

    @Override
    public ImageInfo info() throws IOException {
        return device.info();
    }

    @Override
    public void close() throws IOException {
        device.close();
    }
}
