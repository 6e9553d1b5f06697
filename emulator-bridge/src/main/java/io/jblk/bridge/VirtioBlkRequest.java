package io.jblk.bridge;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A virtio-blk request framed from a descriptor chain: the 16-byte header ({@code type u32, ioprio u32, sector
 * u64}) at the start of the device-readable bytes, the data after it (readable payload) or before the status
 * (writable payload), and the status byte as the last device-writable byte. The spec forbids assuming any particular
 * split into descriptors, so framing works on the byte streams, with data kept as slices of guest RAM.
 *
 * @param type     request type
 * @param sector   starting sector, always in 512-byte units
 * @param readable device-readable payload after the header (OUT data, discard/write-zeroes segments)
 * @param writable device-writable payload before the status byte (IN data, GET_ID buffer)
 * @param status   the 1-byte status slice
 */
public record VirtioBlkRequest(int type, long sector, List<MemorySegment> readable, List<MemorySegment> writable,
                               MemorySegment status) {
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

    public VirtioBlkRequest {
        readable = List.copyOf(readable);
        writable = List.copyOf(writable);
    }

    /**
     * Frames the chain's bytes into a request.
     *
     * @throws BlkRequestException with IOERR when there is no status byte (then {@code statusByte()} is null) or
     *                             the header is not 16 device-readable bytes
     */
    public static VirtioBlkRequest frame(DescriptorChain chain) throws BlkRequestException {
        List<MemorySegment> in = new ArrayList<>();
        List<MemorySegment> out = new ArrayList<>();
        for (DescriptorChain.Buffer b : chain.buffers()) {
            (b.writable() ? out : in).add(b.memory());
        }
        long writableBytes = total(out);
        if (writableBytes == 0) {
            throw new BlkRequestException(S_IOERR, null, "request at head " + chain.head()
                    + " has no device-writable status byte");
        }
        MemorySegment status = slice(out, writableBytes - 1, writableBytes).getFirst();
        long readableBytes = total(in);
        if (readableBytes < HEADER_SIZE) {
            throw new BlkRequestException(S_IOERR, status, "request at head " + chain.head() + " has "
                    + readableBytes + " device-readable bytes, less than the " + HEADER_SIZE + "-byte header");
        }
        byte[] header = new byte[HEADER_SIZE];
        int at = 0;
        for (MemorySegment s : slice(in, 0, HEADER_SIZE)) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, header, at, (int) s.byteSize());
            at += (int) s.byteSize();
        }
        MemorySegment h = MemorySegment.ofArray(header);
        return new VirtioBlkRequest(h.get(GuestMemory.U32, 0), h.get(GuestMemory.U64, 8),
                slice(in, HEADER_SIZE, readableBytes), slice(out, 0, writableBytes - 1), status);
    }

    public long readableBytes() {
        return total(readable);
    }

    public long writableBytes() {
        return total(writable);
    }

    static long total(List<MemorySegment> segments) {
        long sum = 0;
        for (MemorySegment s : segments) {
            sum += s.byteSize();
        }
        return sum;
    }

    /** The byte range {@code [from, to)} of the concatenated segments, as slices (empty slices left out). */
    static List<MemorySegment> slice(List<MemorySegment> segments, long from, long to) {
        List<MemorySegment> result = new ArrayList<>();
        long pos = 0;
        for (MemorySegment s : segments) {
            long start = Math.max(from, pos);
            long end = Math.min(to, pos + s.byteSize());
            if (start < end) {
                result.add(s.asSlice(start - pos, end - start));
            }
            pos += s.byteSize();
        }
        return result;
    }
}
