package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
import io.jblk.api.Futures;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;

/**
 * Validates transmission requests and runs them against the device. Runs on the request's own virtual thread, so
 * waiting for the device's futures here blocks nothing else.
 */
final class Commands {
    /** Holes shorter than this are sent as data: a hole chunk would cost more than the zeros it saves. */
    static final long MIN_HOLE_CHUNK = 4096;
    /** Cap on descriptors per BLOCK_STATUS chunk; the protocol lets a reply cover less than was asked. */
    static final int MAX_DESCRIPTORS = StatusWalk.MAX_EXTENTS;
    /** Extents a structured READ asks for to find its holes; past them the rest is sent as data. */
    static final int MAX_READ_EXTENTS = 1024;

    /** A request refused before it reaches the device. */
    record Refusal(int error, String message) {
    }

    private final Handshake.Session session;
    private final BlockDevice device;
    private final BlockSizes sizes;
    private final StatusWalk status;

    /** {@code liveness} tells long requests (BLOCK_STATUS, CACHE) to stop once their client has gone. */
    Commands(Handshake.Session session, StatusWalk.Liveness liveness) {
        this.session = session;
        this.device = session.export().device();
        this.sizes = session.export().blockSizes();
        this.status = new StatusWalk(device, liveness);
    }

    BlockSizes sizes() {
        return sizes;
    }

    /**
     * Why {@code r} must be refused, or null when it may run. Checks only what the header alone can tell.
     *
     * <p>FUA is accepted on every command, as the protocol requires once SEND_FUA is advertised (it only matters for
     * the ones that write). A zero-length request succeeds without reaching the device wherever qemu-nbd answers it
     * so; BLOCK_STATUS of nothing is refused, as qemu-nbd refuses it.
     */
    Refusal check(Wire.Request r) {
        int allowed = Nbd.CMD_FLAG_FUA | switch (r.type()) {
            case Nbd.CMD_READ -> session.structured() ? Nbd.CMD_FLAG_DF : 0;
            case Nbd.CMD_WRITE_ZEROES -> Nbd.CMD_FLAG_NO_HOLE | Nbd.CMD_FLAG_FAST_ZERO;
            case Nbd.CMD_BLOCK_STATUS -> Nbd.CMD_FLAG_REQ_ONE;
            default -> 0;
        };
        String name = Nbd.commandName(r.type());
        if (!Nbd.knownCommand(r.type())) {
            return new Refusal(Nbd.EINVAL, "unknown command type " + r.type());
        }
        if ((r.flags() & ~allowed) != 0) {
            return new Refusal(Nbd.EINVAL, name + " with unsupported flags 0x" + Integer.toHexString(r.flags()));
        }
        if (r.type() == Nbd.CMD_FLUSH || r.type() == Nbd.CMD_DISC) {
            return null;
        }
        boolean modifies = r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_TRIM || r.type() == Nbd.CMD_WRITE_ZEROES;
        if (modifies && session.export().readOnly()) {
            return new Refusal(Nbd.EPERM, name + " of " + r.length() + " bytes at offset "
                    + Long.toUnsignedString(r.offset()) + " refused: the export is read-only");
        }
        if (r.length() == 0 && r.type() == Nbd.CMD_BLOCK_STATUS) {
            return new Refusal(Nbd.EINVAL, name + " with length 0");
        }
        // CACHE is held to the maximum block size too, as qemu-nbd holds it: the protocol lets a server refuse an
        // oversize request that would cost more than one of the maximum size.
        boolean capped = r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_CACHE;
        if (capped && r.length() > sizes.maximum()) {
            return new Refusal(Nbd.EINVAL, name + " of " + r.length() + " bytes exceeds the maximum block size "
                    + sizes.maximum());
        }
        long size = device.size();
        if (r.offset() < 0 || r.offset() > size || r.length() > size - r.offset()) {
            // A write that would store bytes past the end: ENOSPC, as the protocol asks; anything else is invalid.
            boolean write = (r.type() == Nbd.CMD_WRITE || r.type() == Nbd.CMD_WRITE_ZEROES) && r.length() > 0;
            return new Refusal(write ? Nbd.ENOSPC : Nbd.EINVAL, name + " of " + r.length() + " bytes at offset "
                    + Long.toUnsignedString(r.offset()) + " reaches beyond the export size " + size);
        }
        long misaligned = (r.offset() | (r.offset() + r.length() == size ? 0 : r.length())) % sizes.minimum();
        if (misaligned != 0) {
            return new Refusal(Nbd.EINVAL, name + " at offset " + r.offset() + " length " + r.length()
                    + " is not aligned to the minimum block size " + sizes.minimum());
        }
        if (r.type() == Nbd.CMD_BLOCK_STATUS && session.contexts().isEmpty()) {
            return new Refusal(Nbd.EINVAL, "BLOCK_STATUS without any metadata context negotiated");
        }
        if (r.type() == Nbd.CMD_WRITE_ZEROES && r.has(Nbd.CMD_FLAG_FAST_ZERO) && !mayUnmap(r)) {
            // Without releasing storage the driver may have to write zeros, which is not the fast path promised.
            return new Refusal(Nbd.ENOTSUP, "fast zeroing needs unmapping, which "
                    + (session.export().unmap() ? "NO_HOLE forbids" : "this export does not allow"));
        }
        return null;
    }

    private boolean mayUnmap(Wire.Request r) {
        return session.export().unmap() && !r.has(Nbd.CMD_FLAG_NO_HOLE);
    }

    /** Error reply in the form the client expects for this command. */
    ByteBuffer[] error(Wire.Request r, int error, String message) {
        boolean chunked = session.structured()
                && (r.type() == Nbd.CMD_READ || r.type() == Nbd.CMD_BLOCK_STATUS);
        return new ByteBuffer[] {chunked ? Wire.errorChunk(Nbd.REPLY_FLAG_DONE, r.cookie(), error, message)
                : Wire.simpleReply(error, r.cookie())};
    }

    /**
     * Runs a request that passed {@link #check}. {@code buffer} holds the WRITE payload or receives READ data;
     * the returned buffers may view it, so it must stay alive until they are sent.
     */
    ByteBuffer[] execute(Wire.Request r, MemorySegment buffer) throws IOException {
        if (r.length() == 0 && r.type() != Nbd.CMD_FLUSH) {
            return nothingDone(r);
        }
        return switch (r.type()) {
            case Nbd.CMD_READ -> read(r, buffer);
            case Nbd.CMD_WRITE -> {
                device.writeBlocking(r.offset(), buffer, r.has(Nbd.CMD_FLAG_FUA));
                yield ok(r);
            }
            case Nbd.CMD_FLUSH -> {
                device.flushBlocking();
                yield ok(r);
            }
            case Nbd.CMD_TRIM -> {
                if (session.export().unmap()) {
                    inPieces(r, device::discardBlocking);
                }
                yield ok(r);
            }
            case Nbd.CMD_WRITE_ZEROES -> {
                boolean unmap = mayUnmap(r);
                inPieces(r, (off, len) -> device.writeZeroesBlocking(off, len, unmap));
                yield ok(r);
            }
            case Nbd.CMD_CACHE -> {
                // Advisory: asking for the range's status (at most the maximum block size, and within one request's
                // budget of extents) loads the driver's metadata for it (qcow2 L2 tables).
                status.walk(r.offset(), r.length(), StatusWalk.BATCH, extent -> true);
                yield ok(r);
            }
            case Nbd.CMD_BLOCK_STATUS -> blockStatus(r);
            default -> throw new IllegalStateException("unchecked command " + r.type());
        };
    }

    private static ByteBuffer[] ok(Wire.Request r) {
        return new ByteBuffer[] {Wire.simpleReply(0, r.cookie())};
    }

    /** Success for a zero-length request: a structured READ ends with an empty NONE chunk, the rest as usual. */
    private ByteBuffer[] nothingDone(Wire.Request r) {
        if (r.type() == Nbd.CMD_READ && session.structured()) {
            return new ByteBuffer[] {Wire.noneChunk(Nbd.REPLY_FLAG_DONE, r.cookie())};
        }
        return ok(r);
    }

    private interface RangeOp {
        void apply(long offset, long length) throws IOException;
    }

    /** TRIM/WRITE_ZEROES may exceed what the driver takes at once: split, then honour FUA with a flush. */
    private void inPieces(Wire.Request r, RangeOp op) throws IOException {
        long max = device.limits().maxDiscard();
        long step = Math.max(sizes.minimum(), max - max % Math.max(1, device.limits().allocationGranularity()));
        // Counting down what is left (not up to an end offset) cannot overflow when step is near Long.MAX_VALUE.
        for (long at = r.offset(), left = r.length(); left > 0; ) {
            long n = Math.min(step, left);
            op.apply(at, n);
            at += n;
            left -= n;
        }
        if (r.has(Nbd.CMD_FLAG_FUA)) {
            device.flushBlocking();
        }
    }

    private ByteBuffer[] read(Wire.Request r, MemorySegment buffer) throws IOException {
        if (!session.structured()) {
            device.readBlocking(r.offset(), buffer);
            return new ByteBuffer[] {Wire.simpleReply(0, r.cookie()), buffer.asByteBuffer()};
        }
        List<Run> runs = r.has(Nbd.CMD_FLAG_DF) ? List.of(new Run(r.offset(), r.length(), false)) : runs(r);
        List<Run> data = runs.stream().filter(run -> !run.hole).toList();
        if (data.size() == 1) {
            Run run = data.getFirst();
            device.readBlocking(run.offset, buffer.asSlice(run.offset - r.offset(), run.length));
        } else {
            List<CompletableFuture<Void>> reads = new ArrayList<>();
            for (Run run : data) {
                reads.add(device.read(run.offset, buffer.asSlice(run.offset - r.offset(), run.length)));
            }
            awaitAll(reads);
        }
        ByteBuffer[] reply = new ByteBuffer[runs.size() * 2];
        int n = 0;
        for (int i = 0; i < runs.size(); i++) {
            Run run = runs.get(i);
            int flags = i == runs.size() - 1 ? Nbd.REPLY_FLAG_DONE : 0;
            if (run.hole) {
                reply[n++] = Wire.offsetHole(flags, r.cookie(), run.offset, (int) run.length);
            } else {
                reply[n++] = Wire.offsetDataHeader(flags, r.cookie(), run.offset, (int) run.length);
                reply[n++] = buffer.asSlice(run.offset - r.offset(), run.length).asByteBuffer();
            }
        }
        return java.util.Arrays.copyOf(reply, n);
    }

    /** A piece of a READ reply: data to read, or a hole to announce without reading. */
    private record Run(long offset, long length, boolean hole) {
    }

    /**
     * Splits a READ into data and hole runs by block status (its first {@link #MAX_READ_EXTENTS} extents; the rest
     * of the range is data). If status is unavailable, all of it is data.
     */
    private List<Run> runs(Wire.Request r) {
        List<Extent> extents;
        try {
            extents = device.blockStatusBlocking(r.offset(), r.length(), MAX_READ_EXTENTS);
        } catch (IOException e) {
            return List.of(new Run(r.offset(), r.length(), false));
        }
        List<Extent> described = new ArrayList<>(extents);
        long end = described.isEmpty() ? r.offset() : described.getLast().end();
        if (end > r.offset() && end < r.offset() + r.length()) {
            described.add(new Extent(end, r.offset() + r.length() - end, true, false, true, 0, Extent.NO_OFFSET,
                    false));
        }
        List<Run> runs = new ArrayList<>();
        for (Extent e : described) {
            boolean hole = e.zero() && (e.length() >= MIN_HOLE_CHUNK || e.length() == r.length());
            int last = runs.size() - 1;
            if (last >= 0 && runs.get(last).hole == hole) {
                Run prev = runs.get(last);
                runs.set(last, new Run(prev.offset, prev.length + e.length(), hole));
            } else {
                runs.add(new Run(e.offset(), e.length(), hole));
            }
        }
        long covered = runs.isEmpty() ? 0 : runs.getLast().offset + runs.getLast().length - r.offset();
        if (runs.isEmpty() || runs.getFirst().offset != r.offset() || covered != r.length()) {
            // A driver answer that does not tile the range exactly is not trusted for skipping reads.
            return List.of(new Run(r.offset(), r.length(), false));
        }
        return runs;
    }

    /**
     * One chunk per negotiated context, built while walking the device's extents in batches: the walk stops once a
     * context could take no more descriptors (so every chunk covers the same range), or when the request's budget
     * of extents is spent.
     */
    private ByteBuffer[] blockStatus(Wire.Request r) throws IOException {
        List<MetaContext> contexts = session.contexts();
        boolean one = r.has(Nbd.CMD_FLAG_REQ_ONE);
        Descriptors[] chunks = new Descriptors[contexts.size()];
        for (int c = 0; c < chunks.length; c++) {
            chunks[c] = new Descriptors(contexts.get(c), one ? 1 : MAX_DESCRIPTORS);
        }
        int[] values = new int[chunks.length];
        status.walk(r.offset(), r.length(), one ? 16 : StatusWalk.BATCH, e -> {
            for (int c = 0; c < chunks.length; c++) {
                values[c] = chunks[c].context().value(e);
                if (!chunks[c].canTake(values[c])) {
                    return false;
                }
            }
            for (int c = 0; c < chunks.length; c++) {
                chunks[c].add(e.length(), values[c]);
            }
            return true;
        });
        if (chunks[0].isEmpty()) {
            throw new IOException("the driver described no extents for " + r.length() + " bytes at offset "
                    + r.offset());
        }
        ByteBuffer[] reply = new ByteBuffer[chunks.length];
        for (int c = 0; c < chunks.length; c++) {
            reply[c] = chunks[c].chunk(c == chunks.length - 1 ? Nbd.REPLY_FLAG_DONE : 0, r.cookie());
        }
        return reply;
    }

    static <T> T await(CompletableFuture<T> future) throws IOException {
        try {
            return future.get();
        } catch (ExecutionException e) {
            Throwable cause = Futures.unwrap(e);
            if (cause instanceof IOException io) {
                throw io;
            }
            throw new IOException(ErrorCodes.message(cause), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for the device", e);
        }
    }

    /**
     * Waits for every future, then fails with the first failure. All must settle before returning because they
     * write into one buffer whose memory is freed after the reply.
     */
    private static void awaitAll(List<CompletableFuture<Void>> futures) throws IOException {
        IOException first = null;
        for (CompletableFuture<Void> f : futures) {
            try {
                await(f);
            } catch (IOException e) {
                if (first == null) {
                    first = e;
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
