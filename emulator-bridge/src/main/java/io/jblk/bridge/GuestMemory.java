package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The emulator's guest RAM as the device reaches it: bounds checks, bulk copies in and out, and, where the RAM is
 * host memory the device may use in place, direct segments for zero-copy I/O.
 *
 * <p>Two ways to provide it:
 * <ul>
 *   <li>RAM that is already a {@link MemorySegment} (an arena allocation, a mapped file, a heap array):
 *       {@link #of(long, MemorySegment)} or {@link #of(List)}. The device then reads and writes the rings in place
 *       and hands aligned guest buffers to the block driver without a copy.</li>
 *   <li>RAM behind the emulator's own accessors (a raw address, an array of pages, a bus object): implement
 *       {@link #contains}, {@link #read} and {@link #write}. No restricted JDK method is needed: the device copies
 *       every guest buffer through a bounce buffer, and reads and writes ring fields with small copies. Override
 *       {@link #direct} for ranges that are plain host memory to get zero-copy back for them.</li>
 * </ul>
 *
 * <p><b>Thread contract.</b> Guest memory is the device's DMA path, not a callback: its methods are called on any
 * thread, concurrently, including jblk's I/O completion threads and while the device holds its internal locks
 * (that is how a reset fences writes to the old rings). An implementation must therefore never block on a lock the
 * emulator may hold while it calls into the device (a machine lock), and must not call the device. In
 * {@linkplain VirtioBlkDevice.Builder#polled(Runnable) polled mode} the device calls these methods only on threads
 * that are inside one of its own methods ({@code poll}, {@code read}, {@code write}, {@code reset}, {@code drain},
 * {@code close}), so single-threaded RAM needs no locking at all; the only exception is a {@link #direct} segment,
 * which the block driver reads on its own threads while a write request is in flight.
 *
 * <p><b>Ordering.</b> The device issues the memory fences the virtio ring protocol needs around its calls; an
 * implementation using plain accesses on the calling thread is ordered by them. Ring indices are 2-byte aligned
 * fields that the guest reads while the device writes them: {@link #write} of an aligned 2- or 4-byte range must
 * store it with one access (as {@link MemorySegment#copy} does), or a guest on another thread may see a torn index.
 *
 * <p>Addresses are guest-physical. The device never passes a negative address or length, nor a range whose end
 * overflows a {@code long}; every field is little-endian whatever the host order.
 */
public interface GuestMemory {
    /**
     * Whether every byte of {@code [address, address + length)} is guest RAM the device may read and write.
     * {@code length} is positive. The device calls {@link #read}, {@link #write} and {@link #direct} only for ranges
     * this accepted (within one request or queue setup); a range that stops being RAM meanwhile (hot-unplug) may
     * make those throw any {@link RuntimeException}, which fails the request with IOERR, or the queue with
     * DEVICE_NEEDS_RESET.
     */
    boolean contains(long address, long length);

    /** Copies guest {@code [address, address + into.byteSize())} into {@code into}. */
    void read(long address, MemorySegment into);

    /** Copies {@code from} into guest memory at {@code address}. */
    void write(long address, MemorySegment from);

    /**
     * The range as host memory the device may read and write in place for as long as the guest owns it (zero-copy),
     * or null when it has none; then the device copies. A returned segment must be exactly {@code length} bytes and
     * usable from any thread. The default has none.
     */
    default MemorySegment direct(long address, long length) {
        return null;
    }

    /** A single region of guest RAM starting at guest-physical {@code base}. */
    static GuestMemory of(long base, MemorySegment memory) {
        return new SegmentGuestMemory(List.of(new Region(base, memory)));
    }

    /** Guest RAM in several non-overlapping regions (a hole below 4 GiB, hot-plugged DIMMs, ...). */
    static GuestMemory of(List<Region> regions) {
        return new SegmentGuestMemory(regions);
    }

    /** One guest RAM region: guest-physical {@code base}, backed by {@code memory}. */
    record Region(long base, MemorySegment memory) {
        public Region {
            if (base < 0 || memory.byteSize() == 0 || base + memory.byteSize() < base) {
                throw new IllegalArgumentException("bad guest region at 0x" + Long.toHexString(base) + " of "
                        + memory.byteSize() + " bytes");
            }
        }

        long end() {
            return base + memory.byteSize();
        }
    }
}
