package io.jblk.nativeio;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Random 4 KiB I/O at a fixed queue depth against an existing file, the JVM counterpart of
 * {@code fio --rw=randread|randwrite --bs=4k --iodepth=16 --direct=1}. Not a test: run it by hand (docs/native-io.md).
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp native/target/classes:native/target/test-classes \
 *     io.jblk.nativeio.HostFileBench FILE io_uring|threads randread|randwrite SECONDS [IODEPTH] [direct|buffered] [callback|join]</pre>
 *
 * Each of IODEPTH requests resubmits itself from its completion, so exactly IODEPTH are in flight, as with fio's
 * libaio/io_uring engines. The first second is warm-up and not counted.
 */
public final class HostFileBench {
    private static final int BLOCK = 4096;

    private HostFileBench() {
    }

    public static void main(String[] args) throws Exception {
        Path path = Path.of(args[0]);
        HostFileOptions.Engine engine = switch (args[1]) {
            case "io_uring" -> HostFileOptions.Engine.IO_URING;
            case "threads" -> HostFileOptions.Engine.THREADS;
            default -> throw new IllegalArgumentException("engine " + args[1]);
        };
        boolean write = switch (args[2]) {
            case "randread" -> false;
            case "randwrite" -> true;
            default -> throw new IllegalArgumentException("rw " + args[2]);
        };
        int seconds = Integer.parseInt(args[3]);
        int depth = args.length > 4 ? Integer.parseInt(args[4]) : 16;
        boolean direct = args.length <= 5 || args[5].equals("direct");
        boolean joinStyle = args.length > 6 && args[6].equals("join");
        HostFileOptions options = HostFileOptions.defaults().withEngine(engine).withDirect(direct).withLock(false);
        try (HostFile file = HostFile.open(path, options); Arena arena = Arena.ofShared()) {
            long blocks = file.size() / BLOCK;
            AtomicLong done = new AtomicLong();
            long warmEnd = System.nanoTime() + 1_000_000_000L;
            long end = warmEnd + seconds * 1_000_000_000L;
            CompletableFuture<?>[] lanes = new CompletableFuture<?>[depth];
            for (int i = 0; i < depth; i++) {
                MemorySegment buffer = arena.allocate(BLOCK, BLOCK);
                buffer.fill((byte) i);
                CompletableFuture<Void> lane = new CompletableFuture<>();
                lanes[i] = lane;
                Lane l = new Lane(file, buffer, write, blocks, new SplittableRandom(i * 7919L), warmEnd, end, done, lane);
                if (joinStyle) {
                    Thread.ofVirtual().start(l::loop);
                } else {
                    l.next();
                }
            }
            // Process CPU time over the counted interval (all JVM threads: I/O, completion, GC, JIT): a cost per
            // request that depends far less on other load than IOPS do.
            Thread.sleep(Math.max(0, (warmEnd - System.nanoTime()) / 1_000_000));
            long cpuStart = processCpuNanos();
            CompletableFuture.allOf(lanes).join();
            long cpu = processCpuNanos() - cpuStart;
            long ops = done.get();
            System.out.printf("%s %s %s iodepth=%d: %d ops in %d s = %.0f IOPS (%.1f MiB/s), CPU %.1f us/op%n",
                    file.engineName(), direct ? "direct" : "buffered", args[2], depth, ops, seconds,
                    ops / (double) seconds, ops * (double) BLOCK / seconds / (1 << 20), cpu / 1000.0 / Math.max(1, ops));
        }
    }

    private static long processCpuNanos() {
        return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
    }

    /** One request slot: issues the next request when the previous one completes (callback or blocking style). */
    private record Lane(HostFile file, MemorySegment buffer, boolean write, long blocks, SplittableRandom rnd,
                        long warmEnd, long end, AtomicLong done, CompletableFuture<Void> finished) {
        /** A virtual thread per slot that waits for each request, as drivers do. */
        void loop() {
            try {
                while (true) {
                    long now = System.nanoTime();
                    if (now >= end) {
                        finished.complete(null);
                        return;
                    }
                    long offset = rnd.nextLong(blocks) * BLOCK;
                    (write ? file.write(offset, buffer) : file.read(offset, buffer)).join();
                    if (now >= warmEnd) {
                        done.incrementAndGet();
                    }
                }
            } catch (RuntimeException e) {
                finished.completeExceptionally(e);
            }
        }

        void next() {
            long now = System.nanoTime();
            if (now >= end) {
                finished.complete(null);
                return;
            }
            boolean counted = now >= warmEnd;
            long offset = rnd.nextLong(blocks) * BLOCK;
            CompletableFuture<?> op = write ? file.write(offset, buffer) : file.read(offset, buffer);
            op.whenComplete((v, e) -> {
                if (e != null) {
                    finished.completeExceptionally(e);
                    return;
                }
                if (counted) {
                    done.incrementAndGet();
                }
                next();
            });
        }
    }
}
