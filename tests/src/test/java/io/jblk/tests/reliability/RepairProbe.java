package io.jblk.tests.reliability;

import io.jblk.api.BlockDevice;
import io.jblk.api.CheckResult;
import io.jblk.api.ImageChecker;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.format.Features;
import io.jblk.qcow2.format.Qcow2Header;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * {@code jblk check -r all} on crash states, and crashes during that repair. For a sample of crash states that are
 * dirty (lazy refcounts) or that {@code qemu-img check} finds leaky: repair a fresh copy of the state the way
 * {@code jblk check -r all} does (open read-write with {@code repair=on}, which rebuilds a dirty image's refcounts,
 * then {@link ImageChecker#check} with {@link ImageChecker.Repair#ALL}), recording its host I/O; then
 * {@code qemu-img check} must report the image clean (no leaks, no corruptions), jblk's own re-check too, and the
 * oracle must accept the guest data. For the first few repairs that wrote anything, every crash state of the
 * repair's own host I/O is checked like a workload's (no corruptions in {@code qemu-img check} unless the state is
 * still dirty, then open, oracle, {@code qemu-img check} again), against the original state's expectation: a repair
 * never changes guest data, whenever it is interrupted.
 */
final class RepairProbe {

    /**
     * @param every             probe every n-th crash state of the campaign
     * @param maxRepairs        repairs per campaign at most
     * @param maxCrashedRepairs repairs whose own crash states are enumerated, per campaign
     * @param limits            enumeration bounds for a repair's crash states
     * @param maxStates         crash states per enumerated repair at most
     */
    record Budget(int every, int maxRepairs, int maxCrashedRepairs, CrashStateEnumerator.Limits limits,
                  int maxStates) {
        static Budget fast() {
            return new Budget(7, 4, 2, new CrashStateEnumerator.Limits(2, 4, 20), 20);
        }

        static Budget full() {
            return new Budget(25, 100, 10, new CrashStateEnumerator.Limits(8, 50, 400), 500);
        }
    }

    /**
     * What the probe did in one campaign.
     *
     * @param needless probed states that were neither dirty nor leaky (nothing for {@code -r all} to do)
     */
    record Tally(int probed, int needless, int repaired, int crashedRepairs, int repairCrashStates) {

        /**
         * Whether the campaign covered the repair path: a repair ran and crashes during one were checked; or, when
         * none ran, every one of the campaign's {@code states} was probed and needed none (the workload's crash
         * states simply leave nothing to repair). Repairs missing from states that needed one fail this.
         */
        boolean covered(int states) {
            return repaired > 0 ? crashedRepairs > 0 : needless == states;
        }
    }

    private final DeviceUnderTest repairOpen;
    private final Budget budget;
    private final SplittableRandom random;
    private int probed;
    private int needless;
    private int repaired;
    private int crashedRepairs;
    private int repairCrashStates;

    /** {@code repairOpen}: opens the image the way {@code jblk check -r} does (read-write, {@code repair=on}). */
    RepairProbe(DeviceUnderTest repairOpen, Budget budget, SplittableRandom random) {
        this.repairOpen = repairOpen;
        this.budget = budget;
        this.random = random;
    }

    Tally tally() {
        return new Tally(probed, needless, repaired, crashedRepairs, repairCrashStates);
    }

    /**
     * Every n-th state, and every state until the first repair: a workload may leave only a couple of crash states
     * that need one (one allocation and no freed cluster left 2 leaky prefixes among 85 states, both between the
     * sampled ones, and the campaign "covered" nothing), so until a repair ran, whether one was needed is checked
     * on every state rather than guessed from a sample.
     */
    boolean wants(int stateNumber) {
        return repaired < budget.maxRepairs() && (repaired == 0 || stateNumber % budget.every() == 0);
    }

    /**
     * Repairs a fresh copy of {@code state} (materialised into {@code dir}) and checks it; returns a problem or
     * null.
     */
    String probe(CrashCampaign campaign, CrashState state, CrashStateMaterializer materializer,
                 DeviceUnderTest device, Path dir, List<Path> staticFiles)
            throws IOException, InterruptedException {
        probed++;
        Path crashed = campaign.materialize(state, materializer, dir, staticFiles);
        boolean dirty = isDirty(crashed);
        if (!dirty) {
            QemuImgCheck.Report before = QemuImgCheck.run(crashed, null);
            if (!before.consistent()) {
                return "qemu-img check before the repair: " + before.transcript();
            }
            if (before.leaks() == 0) {
                needless++;
                return null; // nothing for -r all to do
            }
        }
        repaired++;
        RecordingHostFileOpener recorder = new RecordingHostFileOpener();
        CheckResult fixed;
        CheckResult recheck;
        try (BlockDevice dev = repairOpen.open(crashed, recorder, false)) {
            ImageChecker checker = (ImageChecker) dev;
            fixed = checker.check(ImageChecker.Repair.ALL);
            recheck = checker.check(ImageChecker.Repair.NONE);
        }
        if (!recheck.isClean()) {
            return "jblk's re-check after check -r all is not clean: " + recheck;
        }
        QemuImgCheck.Report after = QemuImgCheck.run(crashed, null);
        if (!after.clean()) {
            return "qemu-img check after jblk check -r all (" + (dirty ? "dirty" : "leaky") + ", fixed "
                    + fixed.leaksFixed() + " leaks, " + fixed.corruptionsFixed() + " corruptions): "
                    + after.transcript();
        }
        List<CrashOracle.Violation> violations;
        try (BlockDevice dev = device.open(crashed, HostFileOpener.DEFAULT, true)) {
            violations = campaign.expectation(state).check(dev, 3);
        }
        if (!violations.isEmpty()) {
            return "after jblk check -r all: " + violations;
        }
        boolean wrote = recorder.log().entries().stream().anyMatch(e -> e.op().mutates());
        if (!wrote || crashedRepairs >= budget.maxCrashedRepairs()) {
            return null;
        }
        crashedRepairs++;
        CrashCampaign.FileCheck consistentUnlessDirty = (image, s) -> {
            if (isDirty(image)) {
                return null; // stale refcounts of a dirty lazy image are expected; the open below rebuilds them
            }
            QemuImgCheck.Report report = QemuImgCheck.run(image, null);
            return report.consistent() ? null : "qemu-img check: " + report.transcript();
        };
        CrashCampaign.FileCheck consistent = (image, s) -> {
            QemuImgCheck.Report report = QemuImgCheck.run(image, null);
            return report.consistent() ? null : "qemu-img check: " + report.transcript();
        };
        CrashCampaign.Result result = campaign.forRepairOf(state, recorder, crashed)
                .run(device, budget.limits(), random, dir.resolveSibling(dir.getFileName() + "-crashed"),
                        consistentUnlessDirty, consistent, staticFiles, budget.maxStates());
        repairCrashStates += result.states();
        return result.failures().isEmpty() ? null
                : "crash during jblk check -r all (" + result.states() + " states, host log "
                + recorder.log().size() + " entries): " + result.failures().stream().limit(3).toList();
    }

    /** Whether the qcow2 v3 header at the start of {@code image} has the dirty bit (lazy refcounts not rebuilt). */
    static boolean isDirty(Path image) throws IOException {
        try (FileChannel channel = FileChannel.open(image)) {
            ByteBuffer header = ByteBuffer.allocate(Qcow2Header.INCOMPATIBLE_FEATURES_OFFSET + 8);
            while (header.hasRemaining() && channel.read(header) > 0) {
                // read on
            }
            int version = header.getInt(4);
            return version >= 3 && header.position() == header.capacity()
                    && (header.getLong(Qcow2Header.INCOMPATIBLE_FEATURES_OFFSET) & Features.INCOMPAT_DIRTY) != 0;
        }
    }
}
