package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.CheckResult;
import io.jblk.api.ImageChecker;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * {@code qemu-img check [-f fmt] [-r leaks|all] [--output=human|json] FILE} through the driver's {@link ImageChecker}.
 * Exit codes as qemu-img: 0 clean, 1 check failed, 2 corruptions, 3 leaks only, 63 format has no checks.
 */
@Command(name = "check", description = "Check an image's metadata for consistency, and repair it with -r.")
final class CheckCommand extends Subcommand {
    static final int NOT_SUPPORTED = 63;

    @Mixin
    ImageArgument image;
    @Option(names = "-r", paramLabel = "leaks|all", description = "repair leaks, or leaks and corruptions")
    String repair;
    @Option(names = "--output", paramLabel = "human|json", defaultValue = "human")
    String output;
    @Option(names = "-q", description = "quiet")
    boolean quiet;

    @Override
    public Integer call() throws IOException {
        boolean json = OutputFormat.isJson(output);
        ImageChecker.Repair mode = switch (repair == null ? "" : repair) {
            case "" -> ImageChecker.Repair.NONE;
            case "leaks" -> ImageChecker.Repair.LEAKS;
            case "all" -> ImageChecker.Repair.ALL;
            default -> throw new CliException("Unknown option value for -r (expecting 'leaks' or 'all'): " + repair);
        };
        // "repair=on" lets a driver open an image flagged corrupt read-write, for the repair only (qemu-img's check mode).
        io.jblk.api.OpenOptions options = Images.options(mode == ImageChecker.Repair.NONE, image.forceShare)
                .formatOption("repair", "on").build();
        try (BlockDevice device = Images.open(image.file, image.format, options)) {
            if (!(device instanceof ImageChecker checker)) {
                err().println("jblk: This image format does not support checks");
                return NOT_SUPPORTED;
            }
            CheckResult result = checker.check(mode);
            messages(result);
            if (result.checkErrors() > 0) {
                return checkFailed(result);
            }
            long leaksFixed = result.leaksFixed();
            long corruptionsFixed = result.corruptionsFixed();
            if (mode != ImageChecker.Repair.NONE && (leaksFixed > 0 || corruptionsFixed > 0)) {
                if (!json && !quiet) {
                    out().printf("The following inconsistencies were found and repaired:%n%n    %d leaked clusters%n"
                            + "    %d corruptions%n%nDouble checking the fixed image now...%n", leaksFixed, corruptionsFixed);
                }
                result = checker.check(ImageChecker.Repair.NONE);
                messages(result);
                if (result.checkErrors() > 0) {
                    return checkFailed(result);
                }
            }
            String formatName = device.info().format();
            if (json) {
                out().println(Json.pretty(jsonFields(image.file, formatName, result, corruptionsFixed, leaksFixed)));
            } else if (!quiet) {
                printHuman(out(), result);
            }
            return result.corruptions() > 0 ? 2 : result.leaks() > 0 ? 3 : 0;
        }
    }

    /**
     * A check that could not complete: like qemu-img, no report and no JSON, only the problems found so far (already
     * on stderr) and the reason, exit code 1.
     */
    private int checkFailed(CheckResult result) {
        List<String> found = result.messages();
        String reason = found.isEmpty() ? result.checkErrors() + " errors kept the check from completing"
                : found.getLast().replaceFirst("^ERROR:? ", "");
        err().println("jblk: Check failed: " + reason);
        return 1;
    }

    private void messages(CheckResult result) {
        if (!quiet) {
            result.messages().forEach(err()::println);
        }
    }

    /** qemu-img's ImageCheck object: counters that are zero are left out, except check-errors. */
    static Map<String, Object> jsonFields(Path file, String format, CheckResult r, long corruptionsFixed,
                                          long leaksFixed) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("filename", file.toString());
        m.put("format", format);
        m.put("check-errors", r.checkErrors());
        putNonZero(m, "image-end-offset", r.imageEndOffset());
        putNonZero(m, "corruptions", r.corruptions());
        putNonZero(m, "leaks", r.leaks());
        putNonZero(m, "corruptions-fixed", corruptionsFixed);
        putNonZero(m, "leaks-fixed", leaksFixed);
        putNonZero(m, "total-clusters", r.totalClusters());
        putNonZero(m, "allocated-clusters", r.allocatedClusters());
        putNonZero(m, "fragmented-clusters", r.fragmentedClusters());
        putNonZero(m, "compressed-clusters", r.compressedClusters());
        return m;
    }

    private static void putNonZero(Map<String, Object> m, String key, long value) {
        if (value != 0) {
            m.put(key, value);
        }
    }

    static void printHuman(PrintWriter out, CheckResult r) {
        if (r.isClean()) {
            out.println("No errors were found on the image.");
        } else {
            if (r.corruptions() > 0) {
                out.printf("%n%d errors were found on the image.%nData may be corrupted, or further writes to the image "
                        + "may corrupt it.%n", r.corruptions());
            }
            if (r.leaks() > 0) {
                out.printf("%n%d leaked clusters were found on the image.%nThis means waste of disk space, but no harm "
                        + "to data.%n", r.leaks());
            }
            if (r.checkErrors() > 0) {
                out.printf("%n%d internal errors have occurred during the check.%n", r.checkErrors());
            }
        }
        if (r.totalClusters() != 0 && r.allocatedClusters() != 0) {
            out.println(String.format(Locale.ROOT, "%d/%d = %.2f%% allocated, %.2f%% fragmented, %.2f%% compressed clusters",
                    r.allocatedClusters(), r.totalClusters(), 100.0 * r.allocatedClusters() / r.totalClusters(),
                    100.0 * r.fragmentedClusters() / r.allocatedClusters(),
                    100.0 * r.compressedClusters() / r.allocatedClusters()));
        }
        if (r.imageEndOffset() != 0) {
            out.println("Image end offset: " + r.imageEndOffset());
        }
    }
}
