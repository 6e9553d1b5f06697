package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.nativeio.HostFileOpener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * Fails the k-th host operation of one kind, for every k the workload reaches, and checks the driver's honesty:
 * the failure surfaces as an {@link IOException} (never an unchecked exception, never silence that loses data);
 * after the fault clears, the image reopens and every write acknowledged before the last successful flush reads
 * back, and no sector holds data nobody wrote.
 */
public final class FaultSweep {

    /** What one injection did. */
    public record Outcome(long k, List<String> fired, String surfaced, String problem) {
    }

    /** Checks the image file after the run (e.g. qemu-img check); returns a problem or null. */
    @FunctionalInterface
    public interface ImageCheck {
        String check(Path image) throws IOException, InterruptedException;
    }

    private final DeviceUnderTest device;
    private final Workload workload;
    private final long seed;

    public FaultSweep(DeviceUnderTest device, Workload workload, long seed) {
        this.device = device;
        this.workload = workload;
        this.seed = seed;
    }

    /** How many operations of {@code kind} the fault-free workload issues (up to its final flush, before close). */
    public long countOps(Path pristine, Path work, FaultPlan.Kind kind) throws IOException {
        Path image = work.resolve("count-" + pristine.getFileName());
        Files.copy(pristine, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        FaultPlan plan = new FaultPlan();
        try (BlockDevice dev = device.open(image, FaultyHostFile.opener(HostFileOpener.DEFAULT, plan), false)) {
            workload.run(dev, new SplittableRandom(seed));
            Workload.await(dev.flush());
            return plan.count(kind);
        }
    }

    /** Injects {@code rule(k)} for k = 1 … {@code upTo}. */
    public List<Outcome> sweep(Path pristine, Path work, long upTo, Function<Long, FaultPlan.Rule> rule,
                               ImageCheck imageCheck) throws IOException, InterruptedException {
        List<Outcome> outcomes = new ArrayList<>();
        for (long k = 1; k <= upTo; k++) {
            outcomes.add(injectOnce(pristine, work, k, rule.apply(k), imageCheck));
        }
        return outcomes;
    }

    private Outcome injectOnce(Path pristine, Path work, long k, FaultPlan.Rule rule, ImageCheck imageCheck)
            throws IOException, InterruptedException {
        Path image = work.resolve("fault-" + pristine.getFileName());
        Files.copy(pristine, image, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        byte[] initial;
        try (BlockDevice dev = device.open(image, HostFileOpener.DEFAULT, true)) {
            initial = readAll(dev);
        }
        FaultPlan plan = new FaultPlan().add(rule);
        HostOpLog clock = new HostOpLog();
        String surfaced = null;
        String problem = null;
        JournalingBlockDevice journaled = null;
        try {
            journaled = new JournalingBlockDevice(
                    device.open(image, FaultyHostFile.opener(HostFileOpener.DEFAULT, plan), false), clock);
            workload.run(journaled, new SplittableRandom(seed));
            Workload.await(journaled.flush());
        } catch (IOException e) {
            surfaced = e.toString();
        } catch (RuntimeException | AssertionError e) {
            problem = "untyped failure: " + e;
        } finally {
            plan.clear();
            if (journaled != null) {
                try {
                    journaled.close();
                } catch (IOException e) {
                    surfaced = surfaced == null ? "close: " + e : surfaced;
                } catch (RuntimeException e) {
                    problem = problem == null ? "untyped failure on close: " + e : problem;
                }
            }
        }
        if (problem == null && imageCheck != null) {
            problem = imageCheck.check(image);
        }
        if (problem == null && journaled != null) {
            try (BlockDevice reopened = device.open(image, HostFileOpener.DEFAULT, true)) {
                List<CrashOracle.Violation> v = new CrashOracle(initial, journaled.events())
                        .expectationAt(Long.MAX_VALUE).check(reopened, 3);
                if (!v.isEmpty()) {
                    problem = "after the fault: " + v;
                }
            } catch (IOException e) {
                problem = "image unusable after the fault cleared: " + e;
            }
        }
        return new Outcome(k, plan.fired(), surfaced, problem);
    }

    static byte[] readAll(BlockDevice dev) throws IOException {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofShared()) {
            java.lang.foreign.MemorySegment all = arena.allocate(dev.size(), 4096);
            Workload.await(dev.read(0, all));
            return all.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }
}
