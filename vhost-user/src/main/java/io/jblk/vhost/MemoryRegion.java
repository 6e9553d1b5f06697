package io.jblk.vhost;

import io.jblk.nativeio.NativeFd;
import io.jblk.nativeio.SharedMemory;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * One region of guest RAM as a front-end describes it (the spec's "memory region description") and its mapping in
 * this process. The same bytes have two addresses: guest-physical ({@link #guestAddress}, used in descriptors) and
 * the front-end's own virtual address ({@link #userAddress}, used for the rings in SET_VRING_ADDR).
 */
final class MemoryRegion implements AutoCloseable {
    final long guestAddress;
    final long size;
    final long userAddress;
    final long mmapOffset;
    private final SharedMemory mapping;

    private MemoryRegion(long guestAddress, long size, long userAddress, long mmapOffset, SharedMemory mapping) {
        this.guestAddress = guestAddress;
        this.size = size;
        this.userAddress = userAddress;
        this.mmapOffset = mmapOffset;
        this.mapping = mapping;
    }

    /** A region description as sent (four u64: guest address, size, user address, mmap offset). */
    record Description(long guestAddress, long size, long userAddress, long mmapOffset) {
        static Description parse(Message m, int offset) {
            return new Description(m.u64(offset), m.u64(offset + 8), m.u64(offset + 16), m.u64(offset + 24));
        }

        /** Why the numbers cannot describe memory, or null when they can. */
        String invalidReason() {
            if (size <= 0) {
                return "size " + Long.toUnsignedString(size) + " is not a positive size below 2^63";
            }
            if (guestAddress < 0 || guestAddress > Long.MAX_VALUE - size) {
                return "guest range 0x" + Long.toHexString(guestAddress) + " + 0x" + Long.toHexString(size)
                        + " leaves the 63-bit address space";
            }
            if (Long.compareUnsigned(userAddress, -size) > 0) {
                return "user range 0x" + Long.toHexString(userAddress) + " + 0x" + Long.toHexString(size) + " wraps";
            }
            if (mmapOffset < 0 || mmapOffset > Long.MAX_VALUE - size) {
                return "mmap offset 0x" + Long.toHexString(mmapOffset) + " + size leaves the file offset range";
            }
            return null;
        }

        boolean sameRange(Description o) {
            return guestAddress == o.guestAddress && userAddress == o.userAddress && size == o.size;
        }

        @Override
        public String toString() {
            return "guest 0x" + Long.toHexString(guestAddress) + " size 0x" + Long.toHexString(size) + " user 0x"
                    + Long.toHexString(userAddress) + " offset 0x" + Long.toHexString(mmapOffset);
        }
    }

    /** Maps {@code d} from {@code fd} (not consumed: the caller closes it; the mapping outlives it). */
    static MemoryRegion map(Description d, NativeFd fd) throws IOException {
        return new MemoryRegion(d.guestAddress, d.size, d.userAddress, d.mmapOffset,
                SharedMemory.map(fd, d.mmapOffset, d.size, true));
    }

    Description description() {
        return new Description(guestAddress, size, userAddress, mmapOffset);
    }

    MemorySegment memory() {
        return mapping.segment();
    }

    long guestEnd() {
        return guestAddress + size;
    }

    boolean containsUser(long address, long length) {
        long off = address - userAddress;
        return Long.compareUnsigned(off, size) < 0 && Long.compareUnsigned(length, size - off) <= 0;
    }

    boolean overlapsGuest(Description d) {
        return d.guestAddress() < guestEnd() && guestAddress < d.guestAddress() + d.size();
    }

    boolean overlapsUser(Description d) {
        long aEnd = userAddress + size;
        long bEnd = d.userAddress() + d.size();
        return Long.compareUnsigned(d.userAddress(), aEnd) < 0 && Long.compareUnsigned(userAddress, bEnd) < 0;
    }

    /** Unmaps; no I/O may still target the region. */
    @Override
    public void close() {
        mapping.close();
    }

    @Override
    public String toString() {
        return description().toString();
    }
}
