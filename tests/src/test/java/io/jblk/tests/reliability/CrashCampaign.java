package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.nativeio.HostFileOpener;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Runs a recorded workload's crash states through the checks: materialise the files, optionally let a consistency
 * checker look at them, open the image with the device under test and compare every sector with the
 * {@link CrashOracle}. Collects failures instead of stopping at the first, so a report shows their spread.
 */
public final class CrashCampaign {

    /** Extra per-state check on the materialised files (e.g. qemu-img check); returns a problem or null. */
    @FunctionalInterface
    public interface FileCheck {
        String check(Path image, CrashState state) throws IOException, InterruptedException;
    }

    /** Outcome: states per kind, and the first failures with their states. */
    public record Result(int states, Map<CrashState.Kind, Integer> perKind, List<String> failures) {
    }

    private final RecordingHostFileOpener recorder;
    private final Path image;
    private final byte[] initialGuest;
    private final List<GuestEvent> events;
    private final byte[] discardReveals;

    public CrashCampaign(RecordingHostFileOpener recorder, Path image, byte[] initialGuest, List<GuestEvent> events) {
        this(recorder, image, initialGuest, events, initialGuest);
    }

    /** {@code discardReveals}: what a discarded range may read as besides zeros and old data (the backing data). */
    public CrashCampaign(RecordingHostFileOpener recorder, Path image, byte[] initialGuest, List<GuestEvent> events,
                         byte[] discardReveals) {
        this.discardReveals = discardReveals;
        this.recorder = recorder;
        this.image = image.toAbsolutePath().normalize();
        this.initialGuest = initialGuest;
        this.events = List.copyOf(events);
    }

    public Result run(DeviceUnderTest device, CrashStateEnumerator.Limits limits, SplittableRandom random,
                      Path workDir, FileCheck fileCheck, int maxStates) throws IOException {
        return run(device, limits, random, workDir, fileCheck, null, List.of(), maxStates);
    }

    /**
     * @param before      check of the crashed files before the device opens them (null: none)
     * @param after       check after the device opened (and possibly repaired) and closed them (null: none)
     * @param staticFiles files the image refers to that the workload never wrote (a backing file), linked into
     *                    every state's folder
     */
    public Result run(DeviceUnderTest device, CrashStateEnumerator.Limits limits, SplittableRandom random,
                      Path workDir, FileCheck before, FileCheck after, List<Path> staticFiles, int maxStates)
            throws IOException {
        List<HostOpLog.Entry> entries = recorder.log().entries();
        CrashStateMaterializer materializer = new CrashStateMaterializer(recorder.baselines(), entries);
        CrashOracle oracle = new CrashOracle(initialGuest, events, discardReveals);
        List<String> failures = new ArrayList<>();
        Map<CrashState.Kind, Integer> perKind = new EnumMap<>(CrashState.Kind.class);
        int[] count = {0};
        IOException[] error = {null};
        new CrashStateEnumerator(entries, limits, random).forEach(state -> {
            if (error[0] != null || count[0] >= maxStates) {
                return;
            }
            count[0]++;
            perKind.merge(state.kind(), 1, Integer::sum);
            if (count[0] % 1000 == 0) {
                progress("[crash-progress] " + image.getFileName() + ": " + count[0] + " states, "
                        + failures.size() + " failures");
            }
            try {
                String failure = checkOne(state, materializer, oracle, device, workDir.resolve("state"), before,
                        after, staticFiles);
                if (failure != null && failures.size() < 20) {
                    failures.add(state + ": " + failure);
                }
            } catch (IOException e) {
                error[0] = e;
            }
        });
        if (error[0] != null) {
            throw error[0];
        }
        return new Result(count[0], perKind, failures);
    }

    private String checkOne(CrashState state, CrashStateMaterializer materializer, CrashOracle oracle,
                            DeviceUnderTest device, Path dir, FileCheck fileCheck, FileCheck after,
                            List<Path> staticFiles) throws IOException {
        deleteTree(dir);
        Map<Path, Path> files = materializer.materialize(state, dir);
        for (Path file : staticFiles) {
            Path link = dir.resolve(file.getFileName());
            if (!Files.exists(link)) {
                Files.createSymbolicLink(link, file.toAbsolutePath());
            }
        }
        Path crashed = files.get(image);
        if (crashed == null) {
            throw new IllegalStateException("the image " + image + " was never opened through the recorder");
        }
        try {
            if (fileCheck != null) {
                String problem = fileCheck.check(crashed, state);
                if (problem != null) {
                    return problem;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        List<CrashOracle.Violation> violations;
        try (BlockDevice opened = device.open(crashed, HostFileOpener.DEFAULT, false)) {
            violations = oracle.expectationAt(state.crashTime()).check(opened, 3);
        } catch (IOException e) {
            return "device failed on the crashed image: " + e;
        }
        if (!violations.isEmpty()) {
            return violations.toString();
        }
        try {
            return after == null ? null : after.check(crashed, state);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
    }

    /**
     * Progress of long runs: stdout, and appended to the file named by {@code -Djblk.crash.log} when set (Surefire
     * holds a test's stdout until the class ends).
     */
    static void progress(String line) {
        System.out.println(line);
        String log = System.getProperty("jblk.crash.log");
        if (log != null) {
            try {
                Files.writeString(Path.of(log), java.time.Instant.now() + " " + line + "\n",
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            } catch (IOException e) {
                System.out.println("cannot append to " + log + ": " + e);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
