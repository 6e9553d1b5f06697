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

    /** Outcome: states per kind, the first failures with their states, and what the repair probe did (or null). */
    public record Result(int states, Map<CrashState.Kind, Integer> perKind, List<String> failures,
                         RepairProbe.Tally repairs) {
    }

    private final RecordingHostFileOpener recorder;
    private final Path image;
    private final byte[] initialGuest;
    private final List<GuestEvent> events;
    private final byte[] discardReveals;
    private final CrashOracle oracle;
    /** When set, every state is judged at this guest time (crash states of a repair of one earlier crash state). */
    private final long fixedCrashTime;
    private RepairProbe repairProbe;

    public CrashCampaign(RecordingHostFileOpener recorder, Path image, byte[] initialGuest, List<GuestEvent> events) {
        this(recorder, image, initialGuest, events, initialGuest);
    }

    /** {@code discardReveals}: what a discarded range may read as besides zeros and old data (the backing data). */
    public CrashCampaign(RecordingHostFileOpener recorder, Path image, byte[] initialGuest, List<GuestEvent> events,
                         byte[] discardReveals) {
        this(recorder, image, initialGuest, events, discardReveals, -1);
    }

    private CrashCampaign(RecordingHostFileOpener recorder, Path image, byte[] initialGuest, List<GuestEvent> events,
                          byte[] discardReveals, long fixedCrashTime) {
        this.discardReveals = discardReveals;
        this.recorder = recorder;
        this.image = image.toAbsolutePath().normalize();
        this.initialGuest = initialGuest;
        this.events = List.copyOf(events);
        this.oracle = new CrashOracle(initialGuest, events, discardReveals);
        this.fixedCrashTime = fixedCrashTime;
    }

    /** Also runs {@code probe} (jblk's repair of the state, and crashes during it) on a sample of passing states. */
    public CrashCampaign withRepairProbe(RepairProbe probe) {
        this.repairProbe = probe;
        return this;
    }

    /**
     * A campaign over the host I/O of a repair of {@code state} (recorded by {@code repairRecorder} on
     * {@code repairedImage}), judged by the oracle at {@code state}'s crash time: the repair must not change what
     * the guest sees, wherever it is interrupted.
     */
    CrashCampaign forRepairOf(CrashState state, RecordingHostFileOpener repairRecorder, Path repairedImage) {
        return new CrashCampaign(repairRecorder, repairedImage, initialGuest, events, discardReveals,
                state.crashTime());
    }

    /** What the guest may read after {@code state}. */
    CrashOracle.Expectation expectation(CrashState state) {
        return oracle.expectationAt(fixedCrashTime >= 0 ? fixedCrashTime : state.crashTime());
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
                String failure = checkOne(state, materializer, device, workDir.resolve("state"), before,
                        after, staticFiles);
                if (failure == null && repairProbe != null && repairProbe.wants(count[0])) {
                    failure = repairProbe.probe(this, state, materializer, device, workDir.resolve("repair"),
                            staticFiles);
                    failure = failure == null ? null : "jblk check -r all: " + failure;
                }
                if (failure != null && failures.size() < 20) {
                    failures.add(state + ": " + failure);
                }
            } catch (IOException e) {
                error[0] = e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                error[0] = new IOException("interrupted", e);
            }
        });
        if (error[0] != null) {
            throw error[0];
        }
        return new Result(count[0], perKind, failures, repairProbe == null ? null : repairProbe.tally());
    }

    /**
     * Writes {@code state} out into a fresh {@code dir}, with links to the static files (the backing file); returns
     * the crashed image.
     */
    Path materialize(CrashState state, CrashStateMaterializer materializer, Path dir, List<Path> staticFiles)
            throws IOException {
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
        return crashed;
    }

    private String checkOne(CrashState state, CrashStateMaterializer materializer, DeviceUnderTest device, Path dir,
                            FileCheck fileCheck, FileCheck after, List<Path> staticFiles) throws IOException {
        Path crashed = materialize(state, materializer, dir, staticFiles);
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
            violations = expectation(state).check(opened, 3);
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
