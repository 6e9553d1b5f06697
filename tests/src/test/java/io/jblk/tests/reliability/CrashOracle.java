package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;

/**
 * Decides whether what a device reads after a crash is allowed by what the workload was told before it.
 *
 * <p>For a crash at clock time T, let F be the last guest flush acknowledged before T. Every request acknowledged
 * before F was issued is durable: its sectors must read exactly (writes, zeroes) or as one of the values a discard
 * allows. Every other request issued before T may or may not have happened, sector by sector: each sector must read
 * as its durable value or as the value of one of those requests. Sectors no request touched must read as the
 * initial guest content (zeros, or the backing file's data). Overlapping requests in flight at the same time are
 * ordered by acknowledgement; workloads avoid them.
 *
 * <p>A {@link GuestEvent.Resize} grows the disk: the area beyond the initial size starts as zeros, and the device's
 * size after the crash must be the last acknowledged size or that of a resize still in progress. Only the sectors
 * inside the size the device reports are read: a disk still at its old size cannot hold a durable write beyond it,
 * because such a write was issued after the resize was acknowledged, and an acknowledged resize fixes the size.
 */
public final class CrashOracle {
    public static final int SECTOR = 512;
    private final byte[] initial;
    private final List<GuestEvent> events;
    private final byte[] discardReveals;
    private final long initialSize;
    private final long[] initialHashes;
    private final long[] revealHashes;

    /** {@code initialGuestContent}: what the device read before the workload started (virtual size bytes). */
    public CrashOracle(byte[] initialGuestContent, List<GuestEvent> events) {
        this(initialGuestContent, events, initialGuestContent);
    }

    /** {@code discardReveals}: what a discarded range may read as besides zeros and its old data (backing data). */
    public CrashOracle(byte[] initialGuestContent, List<GuestEvent> events, byte[] discardReveals) {
        if (initialGuestContent.length % SECTOR != 0) {
            throw new IllegalArgumentException("guest size must be a multiple of " + SECTOR);
        }
        this.events = List.copyOf(events);
        this.initialSize = initialGuestContent.length;
        long largest = initialSize;
        for (GuestEvent e : events) {
            if (e instanceof GuestEvent.Resize r) {
                if (r.newSize() < initialSize || r.newSize() % SECTOR != 0) {
                    throw new IllegalArgumentException("the oracle models growth to whole sectors only: "
                            + describe(r) + " from " + initialSize);
                }
                largest = Math.max(largest, r.newSize());
            }
        }
        // Grown space reads as zeros (ImageResizer's contract), whatever the backing file holds there.
        this.initial = Arrays.copyOf(initialGuestContent, Math.toIntExact(largest));
        this.discardReveals = discardReveals == initialGuestContent ? initial
                : Arrays.copyOf(discardReveals, Math.toIntExact(largest));
        int sectors = initial.length / SECTOR;
        initialHashes = new long[sectors];
        revealHashes = new long[sectors];
        for (int s = 0; s < sectors; s++) {
            initialHashes[s] = hash(initial, s * SECTOR);
            revealHashes[s] = this.discardReveals == initial ? initialHashes[s] : hash(this.discardReveals, s * SECTOR);
        }
    }

    /** One sector that read as something no crash could have produced. */
    public record Violation(long offset, String reason) {
        @Override
        public String toString() {
            return "sector at " + offset + ": " + reason;
        }
    }

    /** The allowed sector values for a crash at {@code crashTime}: per sector, a list of 64-bit content hashes. */
    public Expectation expectationAt(long crashTime) {
        int sectors = initial.length / SECTOR;
        long lastFlushIssue = Long.MIN_VALUE;
        for (GuestEvent e : events) {
            if (e instanceof GuestEvent.Flush f && f.ackedAt() < crashTime) {
                lastFlushIssue = Math.max(lastFlushIssue, f.issuedAt());
            }
        }
        long[] sizes = allowedSizes(crashTime);
        long[][] allowed = new long[sectors][];
        String[] why = new String[sectors];
        for (int s = 0; s < sectors; s++) {
            allowed[s] = new long[] {initialHashes[s]};
        }
        final long durableBefore = lastFlushIssue;
        List<GuestEvent> durable = events.stream()
                .filter(e -> isData(e) && e.ackedAt() < durableBefore)
                .sorted((a, b) -> Long.compare(a.ackedAt(), b.ackedAt())).toList();
        List<GuestEvent> pending = events.stream()
                .filter(e -> isData(e) && !(e.ackedAt() < durableBefore)
                        && e.issuedAt() < crashTime)
                .sorted((a, b) -> Long.compare(a.issuedAt(), b.issuedAt())).toList();
        long zeroHash = hash(new byte[SECTOR], 0);
        for (GuestEvent e : durable) {
            forEachSector(e, (s, h) -> {
                allowed[s] = e instanceof GuestEvent.Discard
                        ? union(allowed[s], zeroHash, initialHashes[s], revealHashes[s]) : new long[] {h};
                why[s] = "durable " + describe(e);
            }, zeroHash);
        }
        boolean[] durableOnly = new boolean[sectors];
        Arrays.fill(durableOnly, true);
        for (GuestEvent e : pending) {
            forEachSector(e, (s, h) -> {
                allowed[s] = e instanceof GuestEvent.Discard
                        ? union(allowed[s], zeroHash, initialHashes[s], revealHashes[s]) : union(allowed[s], h);
                durableOnly[s] = false;
            }, zeroHash);
        }
        return new Expectation(allowed, why, durableOnly, sizes);
    }

    private static boolean isData(GuestEvent e) {
        return !(e instanceof GuestEvent.Flush) && !(e instanceof GuestEvent.Resize);
    }

    /** The size after the last resize acknowledged before the crash, plus those of resizes in progress. */
    private long[] allowedSizes(long crashTime) {
        long durable = initialSize;
        long durableAt = Long.MIN_VALUE;
        long[] sizes = {};
        for (GuestEvent e : events) {
            if (e instanceof GuestEvent.Resize r && r.issuedAt() < crashTime) {
                if (r.ackedAt() < crashTime) {
                    if (r.ackedAt() > durableAt) {
                        durable = r.newSize();
                        durableAt = r.ackedAt();
                    }
                } else {
                    sizes = union(sizes, r.newSize());
                }
            }
        }
        return union(new long[] {durable}, sizes);
    }

    /**
     * Allowed hashes per sector, why a sector is constrained, and the virtual sizes the device may report (the
     * first is the durable one).
     */
    public record Expectation(long[][] allowed, String[] durableReason, boolean[] durableOnly, long[] sizes) {

        public List<Violation> check(BlockDevice device, int maxReported) throws IOException {
            List<Violation> violations = new ArrayList<>();
            int chunk = 1 << 20;
            long size = Math.min((long) allowed.length * SECTOR, device.size());
            if (!contains(sizes, device.size())) {
                violations.add(new Violation(device.size(), "the device's size " + device.size()
                        + " is none of the sizes a crash allows " + Arrays.toString(sizes)));
            }
            try (Arena arena = Arena.ofShared()) {
                MemorySegment buffer = arena.allocate(chunk, 4096);
                for (long at = 0; at < size; at += chunk) {
                    int n = (int) Math.min(chunk, size - at);
                    MemorySegment slice = buffer.asSlice(0, n);
                    try {
                        device.read(at, slice).get();
                    } catch (ExecutionException e) {
                        throw new IOException("read at " + at + " failed: " + e.getCause(), e.getCause());
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                        throw new IOException("interrupted", e);
                    }
                    byte[] bytes = slice.toArray(ValueLayout.JAVA_BYTE);
                    for (int off = 0; off < n; off += SECTOR) {
                        int s = (int) ((at + off) / SECTOR);
                        long h = hash(bytes, off);
                        if (!contains(allowed[s], h)) {
                            violations.add(new Violation(at + off, reason(s, bytes, off)));
                            if (violations.size() >= maxReported) {
                                return violations;
                            }
                        }
                    }
                }
            }
            return violations;
        }

        private String reason(int s, byte[] bytes, int off) {
            String got = SparseBytes.isZero(bytes, off, SECTOR) ? "zeros"
                    : "bytes starting " + hex(bytes, off, 8);
            if (durableOnly[s]) {
                return (durableReason[s] == null ? "never written, must read as the initial content"
                        : "must read as " + durableReason[s]) + ", read " + got;
            }
            return "neither the durable value nor any unflushed request's value (" + allowed[s].length
                    + " candidates), read " + got;
        }
    }

    private interface SectorSink {
        void accept(int sector, long hash);
    }

    private static void forEachSector(GuestEvent e, SectorSink sink, long zeroHash) {
        switch (e) {
            case GuestEvent.Write w -> {
                if (w.offset() % SECTOR != 0 || w.data().length % SECTOR != 0) {
                    throw new IllegalArgumentException("crash workloads write whole sectors: " + describe(w));
                }
                for (int i = 0; i < w.data().length; i += SECTOR) {
                    sink.accept((int) ((w.offset() + i) / SECTOR), hash(w.data(), i));
                }
            }
            case GuestEvent.Zeroes z -> range(z.offset(), z.length(), sink, zeroHash);
            case GuestEvent.Discard d -> range(d.offset(), d.length(), sink, zeroHash);
            case GuestEvent.Flush f -> {
            }
            case GuestEvent.Resize r -> {
            }
        }
    }

    private static void range(long offset, long length, SectorSink sink, long hash) {
        if (offset % SECTOR != 0 || length % SECTOR != 0) {
            throw new IllegalArgumentException("crash workloads use whole sectors: " + offset + "+" + length);
        }
        for (long at = offset; at < offset + length; at += SECTOR) {
            sink.accept((int) (at / SECTOR), hash);
        }
    }

    static String describe(GuestEvent e) {
        return switch (e) {
            case GuestEvent.Write w -> "write @" + w.offset() + "+" + w.data().length + " (t" + w.issuedAt() + ")";
            case GuestEvent.Zeroes z -> "write-zeroes @" + z.offset() + "+" + z.length() + " (t" + z.issuedAt() + ")";
            case GuestEvent.Discard d -> "discard @" + d.offset() + "+" + d.length() + " (t" + d.issuedAt() + ")";
            case GuestEvent.Flush f -> "flush (t" + f.issuedAt() + ")";
            case GuestEvent.Resize r -> "resize to " + r.newSize() + " (t" + r.issuedAt() + ")";
        };
    }

    /** 64-bit FNV-1a over one sector; collisions between the few candidates of a sector are negligible. */
    static long hash(byte[] data, int from) {
        long h = 0xcbf29ce484222325L;
        for (int i = from; i < from + SECTOR; i++) {
            h ^= data[i] & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    private static long[] union(long[] set, long... more) {
        long[] out = set;
        for (long h : more) {
            if (!contains(out, h)) {
                out = Arrays.copyOf(out, out.length + 1);
                out[out.length - 1] = h;
            }
        }
        return out;
    }

    private static boolean contains(long[] set, long h) {
        for (long v : set) {
            if (v == h) {
                return true;
            }
        }
        return false;
    }

    private static String hex(byte[] b, int from, int n) {
        StringBuilder sb = new StringBuilder();
        for (int i = from; i < from + n; i++) {
            sb.append(String.format("%02x", b[i]));
        }
        return sb.toString();
    }
}
