package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * 4 KiB random reads and writes at queue depth 32, straight on the BlockDevice and through the whole bridge (test
 * guest driver → MMIO → split virtqueue → BlockDevice), on the same image. Measures, does not assert speed.
 * Run: {@code mvn -pl emulator-bridge -am verify -Dtest=BridgeBenchmark -Djblk.bench=true}; results on stdout
 * (target/surefire-reports/io.jblk.bridge.BridgeBenchmark-output.txt).
 */
@EnabledIfSystemProperty(named = "jblk.bench", matches = "true")
class BridgeBenchmark {
    static final int DEPTH = 32;
    static final int BLOCK = 4096;
    static final long SIZE = 256L << 20;
    static final int OPS = Integer.getInteger("jblk.bench.ops", 200_000);

    @TempDir
    Path dir;

    @Test
    void fourKRandomDirectVersusBridge() throws Exception {
        System.out.printf("machine: %d cpus, %s%n", Runtime.getRuntime().availableProcessors(),
                System.getProperty("java.vm.version"));
        for (String format : System.getProperty("jblk.bench.formats", "raw,qcow2").split(",")) {
            Path image = dir.resolve("bench." + format);
            CreateOptions.Builder create = CreateOptions.builder(SIZE);
            if (format.equals("qcow2")) {
                create.option("extended_l2", "on").option("cluster_size", "65536");
            }
            BlockDrivers.create(image, format, create.build());
            try (BlockDevice d = BlockDrivers.open(image, format, OpenOptions.defaults());
                 Arena arena = Arena.ofShared()) {
                MemorySegment fill = arena.allocate(1 << 20, 4096);
                fill.fill((byte) 0x33);
                for (long off = 0; off < SIZE; off += fill.byteSize()) {
                    d.write(off, fill).join(); // allocate everything: reads then hit data
                }
                d.flush().join();
            }
            for (boolean write : System.getProperty("jblk.bench.writes", "false,true").contains("false")
                    ? new boolean[]{false, true} : new boolean[]{true}) {
                double[] direct = direct(image, format, write);
                double[] bridge = bridge(image, format, write);
                System.out.printf("%-5s 4k rand%-5s QD%d: direct %8.0f IOPS  bridge %8.0f IOPS  overhead %5.1f us/op"
                                + " (%.0f%% of direct); process CPU per op: direct %.1f us, bridge %.1f us%n", format,
                        write ? "write" : "read", DEPTH, direct[0], bridge[0], (1e6 / bridge[0] - 1e6 / direct[0]),
                        100 * bridge[0] / direct[0], direct[1], bridge[1]);
            }
        }
    }

    /** CPU time of the whole process (every thread: driver, bridge and the test guest), nanoseconds (10 ms ticks). */
    private static long processCpu() {
        return ProcessHandle.current().info().totalCpuDuration().orElseThrow().toNanos();
    }

    /**
     * Context switches (voluntary and not) of this JVM's live threads so far, by thread name with digits dropped so a
     * pool's threads add up; empty where there is no /proc. Threads that ended meanwhile are not counted.
     */
    static Map<String, Long> switchesByThread() {
        Map<String, Long> by = new TreeMap<>();
        try (var tasks = Files.list(Path.of("/proc/self/task"))) {
            for (Path t : tasks.toList()) {
                try {
                    String name = Files.readString(t.resolve("comm")).strip().replaceAll("[0-9]+", "N");
                    long n = 0;
                    for (String line : Files.readAllLines(t.resolve("status"))) {
                        if (line.contains("ctxt_switches:")) {
                            n += Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
                        }
                    }
                    by.merge(name, n, Long::sum);
                } catch (IOException ended) {
                    // the thread ended meanwhile
                }
            }
        } catch (IOException noProc) {
            // not Linux: no figures
        }
        return by;
    }

    /** {IOPS, process CPU microseconds per op} of a timed run. */
    private static double[] timed(Op op) throws Exception {
        long cpu0 = processCpu();
        long t0 = System.nanoTime();
        run(OPS, op);
        long elapsed = System.nanoTime() - t0;
        return new double[]{OPS / (elapsed / 1e9), (processCpu() - cpu0) / 1e3 / OPS};
    }

    private double[] direct(Path image, String format, boolean write) throws Exception {
        try (BlockDevice d = BlockDrivers.open(image, format, OpenOptions.defaults());
             Arena arena = Arena.ofShared()) {
            MemorySegment[] buffers = new MemorySegment[DEPTH];
            for (int i = 0; i < DEPTH; i++) {
                buffers[i] = arena.allocate(BLOCK, 4096);
                buffers[i].fill((byte) i);
            }
            SplittableRandom random = new SplittableRandom(1);
            run(OPS / 5, i -> op(d, buffers[i % DEPTH], random, write));
            return timed(i -> op(d, buffers[i % DEPTH], random, write));
        }
    }

    private static CompletableFuture<?> op(BlockDevice d, MemorySegment buffer, SplittableRandom random,
                                           boolean write) {
        long offset = random.nextLong(SIZE / BLOCK) * BLOCK;
        return write ? d.write(offset, buffer) : d.read(offset, buffer);
    }

    private double[] bridge(Path image, String format, boolean write) throws Exception {
        try (GuestRam ram = new GuestRam(64L << 20); GuestBlkDriver guest = new GuestBlkDriver(ram);
             VirtioMmioTransport mmio = VirtioBlkDevice.open(image, format, OpenOptions.defaults(), ram.memory)
                     .queueSize(128).buildMmio(guest.interruptLine())) {
            guest.attach(mmio);
            if (!guest.initialize(ALL_FEATURES, 1, 128)) {
                throw new AssertionError("negotiation failed");
            }
            byte[] data = new byte[BLOCK];
            SplittableRandom random = new SplittableRandom(1);
            Op op = i -> {
                long sector = random.nextLong(SIZE / BLOCK) * (BLOCK / 512);
                return write ? guest.write(0, sector, data, 1, false) : guest.read(0, sector, BLOCK, 1, false);
            };
            run(OPS / 5, op);
            int interrupts = guest.interrupts.get();
            long kicks = guest.kicks.get();
            long spurious = guest.spuriousInterrupts.get();
            Map<String, Long> before = switchesByThread();
            double[] result = timed(op);
            Map<String, Long> after = switchesByThread();
            // What the guest paid per request besides the I/O (interrupt handler runs, kicks), and how often a thread
            // of this JVM slept or was preempted: blocking hand-offs cost CPU that a sampling profiler does not show.
            // Counts, not times, so they mean something on a loaded machine too.
            long switches = 0;
            for (var e : after.entrySet()) {
                long d = e.getValue() - before.getOrDefault(e.getKey(), 0L);
                switches += d;
                if (d > OPS / 20) {
                    System.out.printf("  context switches per request on %s: %.2f%n", e.getKey(), d / (double) OPS);
                }
            }
            System.out.printf("%-5s 4k rand%-5s through the bridge, per request: %.3f used-buffer interrupts, %.3f"
                    + " spurious handler runs, %.3f kicks, %.2f context switches%n", format, write ? "write" : "read",
                    (guest.interrupts.get() - interrupts) / (double) OPS,
                    (guest.spuriousInterrupts.get() - spurious) / (double) OPS,
                    (guest.kicks.get() - kicks) / (double) OPS, switches / (double) OPS);
            return result;
        }
    }

    interface Op {
        CompletableFuture<?> start(int i) throws Exception;
    }

    /** Keeps DEPTH requests outstanding; checks every status so a failing run cannot look fast. */
    private static void run(int count, Op op) throws Exception {
        ArrayDeque<CompletableFuture<?>> window = new ArrayDeque<>();
        for (int i = 0; i < count; i++) {
            if (window.size() == DEPTH) {
                check(window.poll().join());
            }
            window.add(op.start(i));
        }
        while (!window.isEmpty()) {
            check(window.poll().join());
        }
    }

    private static void check(Object result) {
        if (result instanceof GuestBlkDriver.Result r) {
            assertEquals(VirtioBlkRequest.S_OK, r.status());
        }
    }
}
