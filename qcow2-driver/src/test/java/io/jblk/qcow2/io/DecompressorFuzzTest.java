package io.jblk.qcow2.io;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import io.jblk.api.ImageFormatException;
import io.jblk.qcow2.format.CompressedDescriptor;
import io.jblk.qcow2.format.Qcow2Header;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.zip.Deflater;

/**
 * Jazzer target for the compressed-cluster decoder alone ({@link Decompressor}, deflate and zstd). An input is
 * either random bytes used as a compressed descriptor's payload, or a real compressed cluster (deflate or zstd of
 * fuzzer bytes, followed by sector padding as QEMU stores it) with up to eight byte pokes and an optional cut, so the
 * fuzzer also reaches the decoders' deep states. For every input the decoder must return exactly one cluster or throw
 * the driver's typed {@link ImageFormatException} with a message, never another exception, within a bounded
 * allocation and time; an untouched real cluster must come back byte for byte.
 * <p>
 * The normal build replays the committed corpus in {@code src/test/resources/io/jblk/qcow2/io/DecompressorFuzzTestInputs/};
 * to fuzz:
 * <pre>
 * JAZZER_FUZZ=1 JAZZER_INSTRUMENTATION_INCLUDES='io.jblk.**:io.airlift.**' JAZZER_MAX_DURATION=10m \
 *     mvn -B -pl qcow2-driver -am verify -Dtest='DecompressorFuzzTest' -Dsurefire.failIfNoSpecifiedTests=false
 * </pre>
 */
class DecompressorFuzzTest {
    private static final int MAX_CLUSTER_BITS = 21;
    /** A decoder that needs this long for at most 4 MiB of input is hung, not slow. */
    private static final long HANG_SECONDS = 10;
    /**
     * Allocation allowed beyond what is proportional to the cluster and the payload: a zstd decoder's fixed tables
     * (~150 KiB) and, when fuzzing, Jazzer's hooks, which allocate on the same thread (measured: ~1.6 MiB for a
     * 512-byte payload). A decoder that sizes anything by a length read from the payload exceeds it.
     */
    private static final long FIXED_ALLOWANCE = 8 << 20;
    /**
     * Allocation allowed per byte of cluster: the output plus slack. Under Jazzer's instrumentation the same decode
     * allocates far more (measured: 27 MB for one 2 MiB zstd cluster that allocates 2.2 MB uninstrumented, likely
     * allocations the JIT removes in plain code), so fuzzing allows 32 bytes per cluster byte: still far below
     * what a decoder sizing a buffer by a window or content size read from the payload (up to 2^41) would need.
     */
    private static final long PER_CLUSTER_BYTE = System.getenv("JAZZER_FUZZ") == null ? 4 : 32;
    private static final com.sun.management.ThreadMXBean THREADS =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private static final ExecutorService WORKER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "decompressor-fuzz");
        t.setDaemon(true);
        return t;
    });

    @FuzzTest(maxDuration = "60s")
    void decompress(FuzzedDataProvider data) throws Exception {
        int clusterBits = data.consumeInt(9, MAX_CLUSTER_BITS);
        int clusterSize = 1 << clusterBits;
        int mode = data.consumeInt(0, 3);
        int type = (mode & 1) == 0 ? Qcow2Header.COMPRESSION_DEFLATE : Qcow2Header.COMPRESSION_ZSTD;
        if (mode < 2) {
            check(type, data.consumeRemainingAsBytes(), clusterSize, null);
            return;
        }
        int pokes = data.consumeInt(0, 8);
        int[] at = new int[pokes];
        byte[] value = new byte[pokes];
        for (int i = 0; i < pokes; i++) {
            at[i] = data.consumeInt();
            value[i] = data.consumeByte();
        }
        int cut = data.consumeInt(0, 3) == 0 ? data.consumeInt() : -1;
        byte[] cluster = tile(data.consumeRemainingAsBytes(), clusterSize);
        byte[] stored = stored(type, cluster);
        for (int i = 0; i < pokes; i++) {
            stored[Math.floorMod(at[i], stored.length)] = value[i];
        }
        if (cut >= 0) {
            stored = Arrays.copyOf(stored, Math.floorMod(cut, stored.length));
        }
        check(type, stored, clusterSize, pokes == 0 && cut < 0 ? cluster : null);
    }

    /** The decoder's contract for one payload; {@code expected} is the cluster it must produce, if known. */
    static void check(int type, byte[] payload, int clusterSize, byte[] expected) throws Exception {
        CompressedDescriptor where = new CompressedDescriptor(0x10000, Math.max(0, payload.length / 512 - 1));
        Future<Object> result = WORKER.submit(() -> {
            long bound = PER_CLUSTER_BYTE * clusterSize + 2L * payload.length + FIXED_ALLOWANCE;
            Object out = null;
            long allocated = Long.MAX_VALUE;
            // The first run of a code path also counts class loading, lambda and string-concatenation linkage and,
            // when fuzzing, Jazzer's instrumentation; decoding is deterministic, so a second run measures the
            // decoder alone and a real hog exceeds the bound both times.
            for (int attempt = 0; attempt < 2 && allocated > bound; attempt++) {
                long before = THREADS.getCurrentThreadAllocatedBytes();
                try {
                    out = Decompressor.decompress(type, payload, clusterSize, where);
                } catch (IOException e) {
                    out = e;
                }
                allocated = THREADS.getCurrentThreadAllocatedBytes() - before;
            }
            if (allocated > bound) {
                throw new AssertionError("decoding " + payload.length + " bytes into a " + clusterSize
                        + "-byte cluster allocated " + allocated + " bytes (bound " + bound + ")");
            }
            return out;
        });
        Object out;
        try {
            out = result.get(HANG_SECONDS, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            result.cancel(true);
            throw new AssertionError("decoder still running after " + HANG_SECONDS + " s on " + payload.length
                    + " bytes, cluster " + clusterSize);
        } catch (ExecutionException e) {
            // Anything but a typed IOException escaping the decoder is a finding: rethrow it as it is.
            if (e.getCause() instanceof Error error) {
                throw error;
            }
            throw (Exception) e.getCause();
        }
        if (out instanceof IOException e) {
            if (!(e instanceof ImageFormatException) || e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("rejection is not a typed ImageFormatException with a message", e);
            }
            if (expected != null) {
                throw new AssertionError("an untouched compressed cluster was rejected", e);
            }
            return;
        }
        byte[] cluster = (byte[]) out;
        if (cluster.length != clusterSize) {
            throw new AssertionError("decoded " + cluster.length + " bytes for a " + clusterSize + "-byte cluster");
        }
        if (expected != null && !Arrays.equals(expected, cluster)) {
            throw new AssertionError("an untouched compressed cluster decoded to different bytes");
        }
    }

    /** {@code seed} repeated to fill a cluster (zeros if empty): compressible, yet shaped by the fuzzer. */
    static byte[] tile(byte[] seed, int clusterSize) {
        byte[] cluster = new byte[clusterSize];
        for (int i = 0; seed.length > 0 && i < clusterSize; i += seed.length) {
            System.arraycopy(seed, 0, cluster, i, Math.min(seed.length, clusterSize - i));
        }
        return cluster;
    }

    /** The cluster compressed as the driver's writer stores it: raw deflate or one zstd frame, padded to a sector. */
    static byte[] stored(int type, byte[] cluster) {
        byte[] out;
        int n;
        if (type == Qcow2Header.COMPRESSION_ZSTD) {
            var compressor = new io.airlift.compress.v3.zstd.ZstdJavaCompressor();
            out = new byte[compressor.maxCompressedLength(cluster.length)];
            n = compressor.compress(cluster, 0, cluster.length, out, 0, out.length);
        } else {
            Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
            try {
                deflater.setInput(cluster);
                deflater.finish();
                out = new byte[cluster.length + cluster.length / 1000 + 64];
                n = deflater.deflate(out);
            } finally {
                deflater.end();
            }
        }
        return Arrays.copyOf(out, (n + 511) / 512 * 512);
    }
}
