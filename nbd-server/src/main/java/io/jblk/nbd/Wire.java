package io.jblk.nbd;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/** Layouts of every NBD message this server reads or writes (big-endian, as {@link ByteBuffer} defaults to). */
final class Wire {
    private Wire() {
    }

    static final int HANDSHAKE_GREETING_SIZE = 8 + 8 + 2;
    static final int OPTION_HEADER_SIZE = 8 + 4 + 4;
    static final int OPTION_REPLY_HEADER_SIZE = 8 + 4 + 4 + 4;
    static final int REQUEST_SIZE = 4 + 2 + 2 + 8 + 8 + 4;
    static final int SIMPLE_REPLY_SIZE = 4 + 4 + 8;
    static final int CHUNK_HEADER_SIZE = 4 + 2 + 2 + 8 + 4;
    static final int BLOCK_STATUS_DESCRIPTOR_SIZE = 8;

    /** Option request header (after the client flags): IHAVEOPT, option, data length. */
    record OptionHeader(long magic, int option, long length) {
        static OptionHeader parse(ByteBuffer b) {
            return new OptionHeader(b.getLong(), b.getInt(), Integer.toUnsignedLong(b.getInt()));
        }
    }

    /**
     * A transmission request. {@code offset} is unsigned on the wire: values of 2^63 and above arrive negative here
     * and are treated as out of range.
     */
    record Request(int magic, int flags, int type, long cookie, long offset, long length) {
        static Request parse(ByteBuffer b) {
            return new Request(b.getInt(), Short.toUnsignedInt(b.getShort()), Short.toUnsignedInt(b.getShort()),
                    b.getLong(), b.getLong(), Integer.toUnsignedLong(b.getInt()));
        }

        ByteBuffer encode() {
            return ByteBuffer.allocate(REQUEST_SIZE).putInt(magic).putShort((short) flags).putShort((short) type)
                    .putLong(cookie).putLong(offset).putInt((int) length).flip();
        }

        boolean has(int flag) {
            return (flags & flag) != 0;
        }
    }

    static ByteBuffer greeting(int handshakeFlags) {
        return ByteBuffer.allocate(HANDSHAKE_GREETING_SIZE).putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) handshakeFlags).flip();
    }

    static ByteBuffer optionReply(int option, int replyType, ByteBuffer payload) {
        ByteBuffer b = ByteBuffer.allocate(OPTION_REPLY_HEADER_SIZE + payload.remaining());
        return b.putLong(Nbd.OPTION_REPLY_MAGIC).putInt(option).putInt(replyType).putInt(payload.remaining())
                .put(payload.duplicate()).flip();
    }

    static ByteBuffer empty() {
        return ByteBuffer.allocate(0);
    }

    static ByteBuffer text(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8));
    }

    /** NBD_REP_SERVER payload: name length, name. */
    static ByteBuffer serverEntry(String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + n.length).putInt(n.length).put(n).flip();
    }

    /** NBD_REP_META_CONTEXT payload: context id, name. */
    static ByteBuffer metaContext(int id, String name) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(4 + n.length).putInt(id).put(n).flip();
    }

    static ByteBuffer infoExport(long size, int transmissionFlags) {
        return ByteBuffer.allocate(2 + 8 + 2).putShort((short) Nbd.INFO_EXPORT).putLong(size)
                .putShort((short) transmissionFlags).flip();
    }

    static ByteBuffer infoString(int infoType, String value) {
        byte[] v = value.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(2 + v.length).putShort((short) infoType).put(v).flip();
    }

    static ByteBuffer infoBlockSize(BlockSizes sizes) {
        return ByteBuffer.allocate(2 + 12).putShort((short) Nbd.INFO_BLOCK_SIZE).putInt(sizes.minimum())
                .putInt(sizes.preferred()).putInt(sizes.maximum()).flip();
    }

    /** The end of an NBD_OPT_EXPORT_NAME negotiation: size, transmission flags, optional zero padding. */
    static ByteBuffer exportNameReply(long size, int transmissionFlags, boolean noZeroes) {
        ByteBuffer b = ByteBuffer.allocate(8 + 2 + (noZeroes ? 0 : Nbd.EXPORT_NAME_PADDING));
        b.putLong(size).putShort((short) transmissionFlags);
        return b.position(b.capacity()).flip();
    }

    static ByteBuffer simpleReply(int error, long cookie) {
        return ByteBuffer.allocate(SIMPLE_REPLY_SIZE).putInt(Nbd.SIMPLE_REPLY_MAGIC).putInt(error).putLong(cookie)
                .flip();
    }

    static ByteBuffer chunkHeader(int flags, int type, long cookie, int length) {
        return ByteBuffer.allocate(CHUNK_HEADER_SIZE).putInt(Nbd.STRUCTURED_REPLY_MAGIC).putShort((short) flags)
                .putShort((short) type).putLong(cookie).putInt(length).flip();
    }

    /** Header plus the offset field of an OFFSET_DATA chunk; the data follows separately. */
    static ByteBuffer offsetDataHeader(int flags, long cookie, long offset, int dataLength) {
        return ByteBuffer.allocate(CHUNK_HEADER_SIZE + 8).put(chunkHeader(flags, Nbd.CHUNK_OFFSET_DATA, cookie,
                8 + dataLength)).putLong(offset).flip();
    }

    /** A NONE chunk: no payload, only flags (the reply to a zero-length structured READ). */
    static ByteBuffer noneChunk(int flags, long cookie) {
        return chunkHeader(flags, Nbd.CHUNK_NONE, cookie, 0);
    }

    static ByteBuffer offsetHole(int flags, long cookie, long offset, int holeLength) {
        return ByteBuffer.allocate(CHUNK_HEADER_SIZE + 12).put(chunkHeader(flags, Nbd.CHUNK_OFFSET_HOLE, cookie, 12))
                .putLong(offset).putInt(holeLength).flip();
    }

    /** An ERROR chunk: error, message length, message (truncated to the protocol's string limit). */
    static ByteBuffer errorChunk(int flags, long cookie, int error, String message) {
        byte[] m = truncated(message);
        return ByteBuffer.allocate(CHUNK_HEADER_SIZE + 6 + m.length)
                .put(chunkHeader(flags, Nbd.CHUNK_ERROR, cookie, 6 + m.length)).putInt(error)
                .putShort((short) m.length).put(m).flip();
    }

    /** A BLOCK_STATUS chunk: context id, then {length (u32), flags} per descriptor. */
    static ByteBuffer blockStatusChunk(int flags, long cookie, int contextId, int[] lengths, int[] values, int count) {
        int payload = 4 + count * BLOCK_STATUS_DESCRIPTOR_SIZE;
        ByteBuffer b = ByteBuffer.allocate(CHUNK_HEADER_SIZE + payload)
                .put(chunkHeader(flags, Nbd.CHUNK_BLOCK_STATUS, cookie, payload)).putInt(contextId);
        for (int i = 0; i < count; i++) {
            b.putInt(lengths[i]).putInt(values[i]);
        }
        return b.flip();
    }

    /** The message as UTF-8, cut so that it stays within the protocol's 4096-byte string limit. */
    static byte[] truncated(String message) {
        // 1024 UTF-16 units encode to at most 4096 UTF-8 bytes; the cut avoids splitting a surrogate pair.
        String s = message.length() <= Nbd.MAX_STRING / 4 ? message
                : message.substring(0, Character.isHighSurrogate(message.charAt(Nbd.MAX_STRING / 4 - 1))
                        ? Nbd.MAX_STRING / 4 - 1 : Nbd.MAX_STRING / 4);
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
