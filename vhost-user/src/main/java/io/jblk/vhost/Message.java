package io.jblk.vhost;

import io.jblk.nativeio.NativeFd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.List;

/**
 * One received vhost-user message: header fields, payload and the descriptors that came with it. Numbers are in
 * the machine's byte order (the spec's rule; front-end and back-end share a host). The receiver owns the
 * descriptors: whoever handles the message takes the ones it keeps and {@link #closeFds() closes} the rest.
 */
record Message(int request, int flags, byte[] payload, List<NativeFd> fds) {
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.nativeOrder());
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.nativeOrder());

    VhostUserRequest type() {
        return VhostUserRequest.of(request);
    }

    String name() {
        return VhostUserRequest.describe(request);
    }

    boolean needsReply() {
        return (flags & VhostUserProtocol.FLAG_NEED_REPLY) != 0;
    }

    int size() {
        return payload.length;
    }

    MemorySegment segment() {
        return MemorySegment.ofArray(payload);
    }

    long u64(int offset) {
        return segment().get(U64, offset);
    }

    int u32(int offset) {
        return segment().get(U32, offset);
    }

    int u16(int offset) {
        return Short.toUnsignedInt(segment().get(U16, offset));
    }

    void closeFds() {
        fds.forEach(NativeFd::closeQuietly);
    }

    @Override
    public String toString() {
        return name() + " (flags 0x" + Integer.toHexString(flags) + ", " + payload.length + " bytes, " + fds.size()
                + " fds)";
    }
}
