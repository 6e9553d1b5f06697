package io.jblk.qcow2;

import io.jblk.api.CreateOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Soak: batches of 64 requests in flight at once — reads, writes, write-zeroes, discards, flushes at random,
 * overlapping, mostly sub-cluster offsets — on an extended-L2 image over a backing file. Overlapping requests may
 * complete in any order, so each 512-byte sector must end up either its content before the batch or the content of
 * one request of the batch that covers it, and every byte a read returns must be old or from a covering request:
 * never stale or foreign bytes.
 * {@code -Djblk.soak.batches=N} makes it longer; {@code -Djblk.soak.duration=10m} (or {@code 90s}, {@code 1h},
 * {@code PT10M}) runs batches until that much time has passed instead, which the {@code -Psoak} profile does.
 */
class OverlappingSoakTest {
    private static final int SECTOR = 512;
    private static final int SIZE = 8 << 20;
    private static final int DEPTH = 64;

    @TempDir
    Path dir;

    private record Op(int kind, long offset, int length, byte[] data) {
        static final int READ = 0;
        static final int WRITE = 1;
        static final int ZERO = 2;
        static final int DISCARD = 3;
        static final int FLUSH = 4;

        boolean covers(long sectorOffset) {
            return kind != READ && kind != FLUSH && sectorOffset >= offset && sectorOffset < offset + length;
        }
    }

    @Test
    void overlappingRequestsNeverExposeStaleOrForeignData() throws Exception {
        ExternalTool.assumeAvailable("qemu-img");
        SplittableRandom random = SeededRandom.forTest("overlapping soak");
        byte[] base = new byte[SIZE];
        random.nextBytes(base);
        Files.write(dir.resolve("base.raw"), base);
        Path image = dir.resolve("soak.qcow2");
        new Qcow2Driver().create(image, CreateOptions.builder(SIZE).backingFile("base.raw", "raw")
                .option("extended_l2", "on").option("cluster_size", "64k").build());
        int batchLimit = Integer.getInteger("jblk.soak.batches", 40);
        Duration duration = soakDuration(System.getProperty("jblk.soak.duration", ""));
        long start = System.nanoTime();
        byte[] shadow = base.clone();
        long checkedSectors = 0;
        int batches = 0;
        try (Qcow2Device device = Qcow2Images.open(image)) {
            for (int b = 0; duration == null ? b < batchLimit : System.nanoTime() - start < duration.toNanos(); b++) {
                List<Op> ops = new ArrayList<>();
                List<CompletableFuture<Void>> futures = new ArrayList<>();
                List<byte[]> reads = new ArrayList<>();
                for (int i = 0; i < DEPTH; i++) {
                    Op op = randomOp(random);
                    ops.add(op);
                    byte[] readBuffer = op.kind == Op.READ ? new byte[op.length] : null;
                    reads.add(readBuffer);
                    futures.add(switch (op.kind) {
                        case Op.READ -> device.read(op.offset, MemorySegment.ofArray(readBuffer));
                        case Op.WRITE -> device.write(op.offset, MemorySegment.ofArray(op.data));
                        case Op.ZERO -> device.writeZeroes(op.offset, op.length, random.nextBoolean());
                        case Op.DISCARD -> device.discard(op.offset, op.length);
                        default -> device.flush();
                    });
                }
                CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get();
                for (int i = 0; i < ops.size(); i++) {
                    if (ops.get(i).kind == Op.READ) {
                        checkedSectors += checkRead("read " + ops.get(i), reads.get(i), ops.get(i).offset, shadow, ops);
                    }
                }
                byte[] after = Qcow2Images.read(device, 0, SIZE);
                checkedSectors += check("batch " + b + " result", after, 0, shadow, ops);
                shadow = after;
                batches++;
            }
        }
        long seconds = (System.nanoTime() - start) / 1_000_000_000L;
        System.out.println("[soak] " + batches + " batches of " + DEPTH + " requests (" + (long) batches * DEPTH
                + " requests) in " + seconds + " s, " + checkedSectors + " sectors checked, 0 mismatches");
        assertTrue(checkedSectors > 0);
        Qcow2Images.assertQemuCheckClean(image);
        Qcow2Images.assertSameAsRaw(image, shadow, dir);
    }

    /** {@code ""} (no duration: count batches), {@code 10m}, {@code 90s}, {@code 1h}, or ISO-8601 {@code PT10M}. */
    static Duration soakDuration(String text) {
        String t = text.strip();
        if (t.isEmpty()) {
            return null;
        }
        try {
            Duration d;
            if (t.startsWith("P") || t.startsWith("p")) {
                d = Duration.parse(t);
            } else {
                long n = Long.parseLong(t.substring(0, t.length() - 1));
                d = switch (Character.toLowerCase(t.charAt(t.length() - 1))) {
                    case 's' -> Duration.ofSeconds(n);
                    case 'm' -> Duration.ofMinutes(n);
                    case 'h' -> Duration.ofHours(n);
                    default -> throw new IllegalArgumentException("unit");
                };
            }
            if (d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("not positive");
            }
            return d;
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("jblk.soak.duration=" + text
                    + ": expected a positive count with s, m or h (10m, 90s, 1h) or ISO-8601 (PT10M)", e);
        }
    }

    @Test
    void soakDurationAcceptsUnitsAndIsoAndRejectsAnythingElse() {
        assertEquals(null, soakDuration(" "));
        assertEquals(Duration.ofMinutes(10), soakDuration("10m"));
        assertEquals(Duration.ofSeconds(90), soakDuration("90s"));
        assertEquals(Duration.ofHours(1), soakDuration("1H"));
        assertEquals(Duration.ofMinutes(10), soakDuration("PT10M"));
        for (String bad : new String[] {"10", "m", "0s", "-5m", "10d", "PTX"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> soakDuration(bad));
            assertTrue(e.getMessage().contains("jblk.soak.duration=" + bad), e.getMessage());
        }
    }

    private static Op randomOp(SplittableRandom random) {
        int kind = switch (random.nextInt(10)) {
            case 0, 1, 2 -> Op.READ;
            case 3, 4, 5, 6 -> Op.WRITE;
            case 7 -> Op.ZERO;
            case 8 -> Op.DISCARD;
            default -> Op.FLUSH;
        };
        // A hot 512 KiB region gets most requests, so they overlap; lengths from one sector to ~1.5 clusters.
        long region = random.nextInt(4) == 0 ? SIZE : 512 << 10;
        int length = SECTOR * (1 + random.nextInt(random.nextBoolean() ? 8 : 200));
        long offset = (long) SECTOR * random.nextLong((region - length) / SECTOR + 1);
        byte[] data = null;
        if (kind == Op.WRITE) {
            data = new byte[length];
            random.nextBytes(data);
        }
        return new Op(kind, offset, length, data);
    }

    /** Every sector of {@code actual} (at guest {@code offset}) is the old content or one covering request's. */
    private static long check(String what, byte[] actual, long offset, byte[] before, List<Op> ops) {
        long sectors = 0;
        for (int at = 0; at < actual.length; at += SECTOR, sectors++) {
            long sector = offset + at;
            byte[] got = Arrays.copyOfRange(actual, at, at + SECTOR);
            if (Arrays.equals(got, 0, SECTOR, before, (int) sector, (int) sector + SECTOR)) {
                continue;
            }
            boolean explained = false;
            for (Op op : ops) {
                if (!op.covers(sector)) {
                    continue;
                }
                boolean matches = op.kind == Op.WRITE
                        ? Arrays.equals(got, 0, SECTOR, op.data, (int) (sector - op.offset), (int) (sector - op.offset) + SECTOR)
                        : isZero(got);
                if (matches) {
                    explained = true;
                    break;
                }
            }
            if (!explained) {
                fail(what + ": sector at 0x" + Long.toHexString(sector)
                        + " holds neither its old content nor that of a request covering it");
            }
        }
        return sectors;
    }

    /**
     * A read racing a write of the same sector may see the sector half updated (the page cache copies bytes, not
     * sectors), so a read is checked byte by byte: each byte is the old one or that of a covering request.
     */
    private static long checkRead(String what, byte[] actual, long offset, byte[] before, List<Op> ops) {
        for (int at = 0; at < actual.length; at++) {
            long pos = offset + at;
            if (actual[at] == before[(int) pos]) {
                continue;
            }
            boolean explained = false;
            for (Op op : ops) {
                if (op.covers(pos) && (op.kind == Op.WRITE ? op.data[(int) (pos - op.offset)] == actual[at] : actual[at] == 0)) {
                    explained = true;
                    break;
                }
            }
            if (!explained) {
                fail(what + ": byte at 0x" + Long.toHexString(pos) + " is neither its old value nor that of a request"
                        + " covering it");
            }
        }
        return actual.length / SECTOR;
    }

    private static boolean isZero(byte[] b) {
        for (byte x : b) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }
}
