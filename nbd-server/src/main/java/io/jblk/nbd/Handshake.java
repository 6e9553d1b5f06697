package io.jblk.nbd;

import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The fixed-newstyle negotiation: greeting, client flags, then options until GO or EXPORT_NAME picks the export (or
 * the client aborts). Options the server does not know get NBD_REP_ERR_UNSUP and negotiation continues.
 */
final class Handshake {
    /** Largest option payload accepted; larger ones are skipped and answered with NBD_REP_ERR_TOO_BIG. */
    static final int MAX_OPTION_DATA = 64 << 10;

    /** What the client agreed to when it entered transmission. */
    record Session(NbdExport export, boolean structured, List<MetaContext> contexts, int transmissionFlags) {
    }

    private final Connection conn;
    private final NbdExport export;
    private boolean noZeroes;
    private boolean structured;
    private List<MetaContext> contexts = List.of();

    private Handshake(Connection conn, NbdExport export) {
        this.conn = conn;
        this.export = export;
    }

    /** Runs the negotiation; empty when the client aborted or disconnected cleanly between options. */
    static Optional<Session> negotiate(Connection conn, NbdExport export) throws IOException {
        return new Handshake(conn, export).run();
    }

    /** An option that is understood but malformed: answered with an error reply, negotiation continues. */
    private static final class OptionError extends Exception {
        final int reply;

        OptionError(int reply, String message) {
            super(message, null, false, false);
            this.reply = reply;
        }
    }

    private Optional<Session> run() throws IOException {
        conn.send(Wire.greeting(Nbd.FLAG_FIXED_NEWSTYLE | Nbd.FLAG_NO_ZEROES));
        int clientFlags = conn.read(4).getInt();
        if ((clientFlags & ~Nbd.KNOWN_CLIENT_FLAGS) != 0) {
            throw new ProtocolViolation("client flags 0x" + Integer.toHexString(clientFlags) + " set unknown bits");
        }
        noZeroes = (clientFlags & Nbd.FLAG_NO_ZEROES) != 0;
        while (true) {
            Wire.OptionHeader header = Wire.OptionHeader.parse(conn.read(Wire.OPTION_HEADER_SIZE));
            if (header.magic() != Nbd.IHAVEOPT) {
                throw new ProtocolViolation("option magic 0x" + Long.toHexString(header.magic())
                        + " is not IHAVEOPT");
            }
            int option = header.option();
            if (header.length() > MAX_OPTION_DATA) {
                if (option == Nbd.OPT_EXPORT_NAME) {
                    throw new ProtocolViolation("EXPORT_NAME of " + header.length() + " bytes");
                }
                conn.skip(header.length());
                reply(option, Nbd.REP_ERR_TOO_BIG, Wire.text("option data of " + header.length()
                        + " bytes exceeds the limit of " + MAX_OPTION_DATA));
                continue;
            }
            ByteBuffer data = conn.read((int) header.length());
            try {
                switch (option) {
                    case Nbd.OPT_EXPORT_NAME -> {
                        return Optional.of(exportName(data));
                    }
                    case Nbd.OPT_ABORT -> {
                        replyQuietly(option, Nbd.REP_ACK);
                        return Optional.empty();
                    }
                    case Nbd.OPT_LIST -> list(data);
                    case Nbd.OPT_STRUCTURED_REPLY -> structuredReply(data);
                    case Nbd.OPT_INFO -> info(option, data);
                    case Nbd.OPT_GO -> {
                        Optional<Session> s = info(option, data);
                        if (s.isPresent()) {
                            return s;
                        }
                    }
                    case Nbd.OPT_LIST_META_CONTEXT -> metaContext(option, data, true);
                    case Nbd.OPT_SET_META_CONTEXT -> metaContext(option, data, false);
                    case Nbd.OPT_STARTTLS -> throw new OptionError(Nbd.REP_ERR_UNSUP, "TLS is not supported");
                    case Nbd.OPT_EXTENDED_HEADERS ->
                            throw new OptionError(Nbd.REP_ERR_UNSUP, "extended headers are not supported");
                    default -> throw new OptionError(Nbd.REP_ERR_UNSUP, "unknown option " + option);
                }
            } catch (OptionError e) {
                reply(option, e.reply, Wire.text(e.getMessage()));
            } catch (BufferUnderflowException e) {
                reply(option, Nbd.REP_ERR_INVALID, Wire.text("option " + option + " data of " + header.length()
                        + " bytes is truncated"));
            }
        }
    }

    private Session exportName(ByteBuffer data) throws IOException {
        String name;
        try {
            name = string(data, data.remaining());
        } catch (OptionError e) {
            throw new ProtocolViolation("EXPORT_NAME: " + e.getMessage());
        }
        if (!export.matches(name)) {
            // The protocol gives EXPORT_NAME no error reply: dropping the connection is the answer.
            throw new ProtocolViolation("EXPORT_NAME asked for unknown export '" + name + "'");
        }
        int flags = export.transmissionFlags(structured);
        conn.send(Wire.exportNameReply(export.device().size(), flags, noZeroes));
        return new Session(export, structured, contexts, flags);
    }

    private void list(ByteBuffer data) throws IOException, OptionError {
        if (data.hasRemaining()) {
            throw new OptionError(Nbd.REP_ERR_INVALID, "LIST carries " + data.remaining() + " bytes of data");
        }
        reply(Nbd.OPT_LIST, Nbd.REP_SERVER, Wire.serverEntry(export.name()));
        reply(Nbd.OPT_LIST, Nbd.REP_ACK, Wire.empty());
    }

    private void structuredReply(ByteBuffer data) throws IOException, OptionError {
        if (data.hasRemaining()) {
            throw new OptionError(Nbd.REP_ERR_INVALID, "STRUCTURED_REPLY carries " + data.remaining()
                    + " bytes of data");
        }
        structured = true;
        reply(Nbd.OPT_STRUCTURED_REPLY, Nbd.REP_ACK, Wire.empty());
    }

    /** INFO and GO: name, requested info types; GO also ends negotiation on success. */
    private Optional<Session> info(int option, ByteBuffer data) throws IOException, OptionError {
        String name = string(data, data.getInt());
        int count = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * count) {
            throw new OptionError(Nbd.REP_ERR_INVALID, "INFO/GO announces " + count + " info requests but carries "
                    + data.remaining() + " bytes for them");
        }
        Set<Integer> requested = new LinkedHashSet<>();
        for (int i = 0; i < count; i++) {
            requested.add(Short.toUnsignedInt(data.getShort()));
        }
        if (!export.matches(name)) {
            throw new OptionError(Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "' (this server exports '"
                    + export.name() + "')");
        }
        BlockSizes sizes = export.blockSizes();
        if (option == Nbd.OPT_GO && sizes.minimum() > 1 && !requested.contains(Nbd.INFO_BLOCK_SIZE)) {
            throw new OptionError(Nbd.REP_ERR_BLOCK_SIZE_REQD, "the export needs requests aligned to "
                    + sizes.minimum() + " bytes; ask for NBD_INFO_BLOCK_SIZE");
        }
        if (requested.contains(Nbd.INFO_NAME)) {
            reply(option, Nbd.REP_INFO, Wire.infoString(Nbd.INFO_NAME, export.name()));
        }
        if (requested.contains(Nbd.INFO_DESCRIPTION) && export.description() != null) {
            reply(option, Nbd.REP_INFO, Wire.infoString(Nbd.INFO_DESCRIPTION, export.description()));
        }
        // Sent unasked too: clients that did not ask may ignore it, and it is the only way to tell them the limits.
        reply(option, Nbd.REP_INFO, Wire.infoBlockSize(sizes));
        int flags = export.transmissionFlags(structured);
        reply(option, Nbd.REP_INFO, Wire.infoExport(export.device().size(), flags));
        reply(option, Nbd.REP_ACK, Wire.empty());
        return option == Nbd.OPT_GO ? Optional.of(new Session(export, structured, contexts, flags))
                : Optional.empty();
    }

    /** LIST_META_CONTEXT and SET_META_CONTEXT: export name, then a counted list of queries. */
    private void metaContext(int option, ByteBuffer data, boolean listing) throws IOException, OptionError {
        String what = listing ? "LIST_META_CONTEXT" : "SET_META_CONTEXT";
        if (!structured) {
            throw new OptionError(Nbd.REP_ERR_INVALID, what + " before STRUCTURED_REPLY was negotiated");
        }
        String name = string(data, data.getInt());
        long count = Integer.toUnsignedLong(data.getInt());
        List<String> queries = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            queries.add(string(data, data.getInt()));
        }
        if (data.hasRemaining()) {
            throw new OptionError(Nbd.REP_ERR_INVALID, what + " has " + data.remaining() + " trailing bytes");
        }
        if (!export.matches(name)) {
            throw new OptionError(Nbd.REP_ERR_UNKNOWN, "no export named '" + name + "'");
        }
        Set<MetaContext> selected = new LinkedHashSet<>();
        if (listing && queries.isEmpty()) {
            selected.addAll(List.of(MetaContext.values()));
        }
        for (String q : queries) {
            selected.addAll(MetaContext.select(q, listing));
        }
        for (MetaContext c : selected) {
            // LIST replies carry id 0: the ids only mean something once SET has chosen the contexts.
            reply(option, Nbd.REP_META_CONTEXT, Wire.metaContext(listing ? 0 : c.id, c.contextName));
        }
        if (!listing) {
            contexts = List.copyOf(selected);
        }
        reply(option, Nbd.REP_ACK, Wire.empty());
    }

    /** A UTF-8 string of {@code length} bytes from {@code data}, within the protocol's limits. */
    private static String string(ByteBuffer data, int length) throws OptionError {
        if (length < 0 || length > Nbd.MAX_STRING || length > data.remaining()) {
            throw new OptionError(Nbd.REP_ERR_INVALID, "string length " + Integer.toUnsignedLong(length)
                    + " exceeds the option data or the limit of " + Nbd.MAX_STRING + " bytes");
        }
        ByteBuffer bytes = data.slice(data.position(), length);
        data.position(data.position() + length);
        try {
            String s = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
            if (s.indexOf('\0') >= 0) {
                throw new OptionError(Nbd.REP_ERR_INVALID, "string contains NUL");
            }
            return s;
        } catch (CharacterCodingException e) {
            throw new OptionError(Nbd.REP_ERR_INVALID, "string is not valid UTF-8");
        }
    }

    private void reply(int option, int type, ByteBuffer payload) throws IOException {
        conn.send(Wire.optionReply(option, type, payload));
    }

    /** The ACK to ABORT: the client may already have gone, which is fine. */
    private void replyQuietly(int option, int type) {
        try {
            reply(option, type, Wire.empty());
        } catch (IOException e) {
            // the client closed without waiting for the ACK, as the protocol allows
        }
    }
}
