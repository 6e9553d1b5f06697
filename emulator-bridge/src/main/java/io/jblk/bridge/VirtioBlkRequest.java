package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio-blk request framed from a descriptor chain: the 16-byte header ({@code type u32, ioprio u32, sector
 * u64}) at the start of the device-readable bytes, the data after it (readable payload) or before the status
 * (writable payload), and the status byte as the last device-writable byte. The spec forbids assuming any particular
 * split into descriptors, so framing works on the byte streams, with data kept as guest-physical ranges.
 *
 * @param type          request type
 * @param sector        starting sector, always in 512-byte units
 * @param readable      device-readable payload after the header (OUT data, discard/write-zeroes segments)
 * @param writable      device-writable payload before the status byte (IN data, GET_ID buffer)
 * @param statusAddress guest-physical address of the status byte
 */
public record VirtioBlkRequest(int type, long sector, List<DescriptorChain.Buffer> readable,
                               List<DescriptorChain.Buffer> writable, long statusAddress) {
    public static final int T_IN = 0;
    public static final int T_OUT = 1;
    public static final int T_FLUSH = 4;
    public static final int T_GET_ID = 8;
    public static final int T_DISCARD = 11;
    public static final int T_WRITE_ZEROES = 13;

    public static final int S_OK = 0;
    public static final int S_IOERR = 1;
    public static final int S_UNSUPP = 2;

    public static final int HEADER_SIZE = 16;
    /** A status address that means "none": the chain is returned without writing a status. */
    public static final long NO_STATUS = -1;

    public VirtioBlkRequest {
        readable = List.copyOf(readable);
        writable = List.copyOf(writable);
    }

    /**
     * Frames the chain's bytes into a request, reading the header from guest memory.
     *
     * @throws BlkRequestException with IOERR when there is no status byte (then {@code statusAddress()} is
     *                             {@link #NO_STATUS}) or the header is not 16 device-readable bytes
     */
    public static VirtioBlkRequest frame(DescriptorChain chain, GuestMemory memory) throws BlkRequestException {
        List<DescriptorChain.Buffer> in = new ArrayList<>();
        List<DescriptorChain.Buffer> out = new ArrayList<>();
        for (DescriptorChain.Buffer b : chain.buffers()) {
            (b.writable() ? out : in).add(b);
        }
        long writableBytes = total(out);
        if (writableBytes == 0) {
            throw new BlkRequestException(S_IOERR, NO_STATUS, "request at head " + chain.head()
                    + " has no device-writable status byte");
        }
        long status = slice(out, writableBytes - 1, writableBytes).getFirst().address();
        long readableBytes = total(in);
        if (readableBytes < HEADER_SIZE) {
            throw new BlkRequestException(S_IOERR, status, "request at head " + chain.head() + " has "
                    + readableBytes + " device-readable bytes, less than the " + HEADER_SIZE + "-byte header");
        }
        MemorySegment header = MemorySegment.ofArray(new byte[HEADER_SIZE]);
        copyIn(memory, slice(in, 0, HEADER_SIZE), header);
        return new VirtioBlkRequest(header.get(LittleEndian.U32, 0), header.get(LittleEndian.U64, 8),
                slice(in, HEADER_SIZE, readableBytes), slice(out, 0, writableBytes - 1), status);
    }

    public long readableBytes() {
        return total(readable);
    }

    public long writableBytes() {
        return total(writable);
    }

    static long total(List<DescriptorChain.Buffer> buffers) {
        long sum = 0;
        for (DescriptorChain.Buffer b : buffers) {
            sum += b.length();
        }
        return sum;
    }

    /** The byte range {@code [from, to)} of the concatenated buffers (empty pieces left out). */
    static List<DescriptorChain.Buffer> slice(List<DescriptorChain.Buffer> buffers, long from, long to) {
        List<DescriptorChain.Buffer> result = new ArrayList<>();
        long pos = 0;
        for (DescriptorChain.Buffer b : buffers) {
            long start = Math.max(from, pos);
            long end = Math.min(to, pos + b.length());
            if (start < end) {
                result.add(b.slice(start - pos, end - pos));
            }
            pos += b.length();
        }
        return result;
    }

    /** Copies the guest bytes of {@code buffers}, concatenated, into the start of {@code into}. */
    static void copyIn(GuestMemory memory, List<DescriptorChain.Buffer> buffers, MemorySegment into) {
        long at = 0;
        for (DescriptorChain.Buffer b : buffers) {
            memory.read(b.address(), into.asSlice(at, b.length()));
            at += b.length();
        }
    }

    /** Copies the start of {@code from} into the guest bytes of {@code buffers}, in order. */
    static void copyOut(GuestMemory memory, MemorySegment from, List<DescriptorChain.Buffer> buffers) {
        long at = 0;
        for (DescriptorChain.Buffer b : buffers) {
            long n = Math.min(b.length(), from.byteSize() - at);
            if (n <= 0) {
                return;
            }
            memory.write(b.address(), from.asSlice(at, n));
            at += n;
        }
    }
}
