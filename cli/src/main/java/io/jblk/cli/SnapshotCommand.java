package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.SnapshotLister;
import io.jblk.api.SnapshotLister.SnapshotInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code qemu-img snapshot -l FILE} through the device's {@link SnapshotLister}; create/apply/delete are not done yet. */
@Command(name = "snapshot", description = "List the internal snapshots of an image (-l).")
final class SnapshotCommand extends Subcommand {
    private static final DateTimeFormatter DATE = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    @Mixin
    ImageArgument image;
    @Option(names = "-l", description = "list the snapshots")
    boolean list;
    @Option(names = {"-c", "-a", "-d"}, paramLabel = "snapshot", description = "create, apply, delete: not supported yet")
    String change;

    @Override
    public Integer call() throws IOException {
        if (change != null) {
            throw new CliException(image.file + ": creating, applying and deleting snapshots is not supported yet (only -l)");
        }
        if (!list) {
            throw new CliException("snapshot: give -l to list the snapshots of " + image.file);
        }
        try (BlockDevice device = Images.open(image.file, image.format, true, image.forceShare)) {
            List<SnapshotInfo> snapshots = device instanceof SnapshotLister lister ? lister.snapshotList() : List.of();
            if (!snapshots.isEmpty()) {
                out().println("Snapshot list:");
                printTable(out(), snapshots);
            }
        }
        return 0;
    }

    /** qemu's bdrv_snapshot_dump: header and one row per snapshot. */
    static void printTable(PrintWriter out, List<SnapshotInfo> snapshots) {
        out.println(String.format("%-10s%-17s%8s%20s%13s%11s", "ID", "TAG", "VM SIZE", "DATE", "VM CLOCK", "ICOUNT"));
        for (SnapshotInfo s : snapshots) {
            String date = DATE.format(Instant.ofEpochSecond(s.dateSeconds()).atZone(ZoneId.systemDefault()));
            long ms = s.vmClockNanoseconds() / 1_000_000;
            String clock = String.format("%02d:%02d:%02d.%03d", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60,
                    ms % 1000);
            out.println(String.format("%-9s %-16s %8s%20s%13s%11s", s.id(), s.name(), Sizes.human(s.vmStateSize()),
                    date, clock, s.icount() == -1 ? "" : Long.toString(s.icount())));
        }
    }

    /** qemu-img info's "snapshots" entries; icount only when the image records it. */
    static Map<String, Object> json(SnapshotInfo s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", s.id());
        m.put("name", s.name());
        m.put("vm-state-size", s.vmStateSize());
        m.put("date-sec", s.dateSeconds());
        m.put("date-nsec", s.dateNanoseconds());
        m.put("vm-clock-sec", s.vmClockNanoseconds() / 1_000_000_000L);
        m.put("vm-clock-nsec", s.vmClockNanoseconds() % 1_000_000_000L);
        if (s.icount() != -1) {
            m.put("icount", s.icount());
        }
        return m;
    }
}
