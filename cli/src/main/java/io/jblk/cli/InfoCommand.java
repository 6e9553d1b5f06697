package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.ImageInfo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code qemu-img info [-f fmt] [--output=human|json] [--backing-chain] FILE}, plus the I/O engine in use. */
@Command(name = "info", description = "Show information about a disk image.")
final class InfoCommand extends Subcommand {
    @Mixin
    ImageArgument image;
    @Option(names = "--output", paramLabel = "human|json", defaultValue = "human")
    String output;
    @Option(names = "--backing-chain", description = "show every image of the backing chain")
    boolean backingChain;

    @Override
    public Integer call() throws IOException {
        boolean json = OutputFormat.isJson(output);
        List<Map<String, Object>> chain = new ArrayList<>();
        Path current = image.file;
        String currentFormat = image.format;
        while (current != null) {
            Map<String, Object> entry;
            ImageInfo info;
            // qemu-img info inspects metadata only: it takes no consistent-read permission (see Images.options),
            // and opens the image alone, without its backing chain (so a missing backing file does not hide the
            // image's own information); --backing-chain opens the chain, as qemu-img does.
            try (BlockDevice device = Images.open(current, currentFormat, Images.options(true, image.forceShare)
                    .metadataOnly(true).formatOption("backing", backingChain ? "on" : "off").build())) {
                info = device.info();
                entry = describe(current, info);
                if (device instanceof io.jblk.api.SnapshotLister lister && !lister.snapshotList().isEmpty()) {
                    entry.put("snapshots", lister.snapshotList());
                }
            }
            chain.add(entry);
            if (!backingChain || info.backingFilename() == null) {
                break;
            }
            current = Path.of(fullBackingName(current, info.backingFilename()));
            currentFormat = info.backingFormat();
            if (chain.size() > 1000) {
                throw new CliException(image.file + ": backing chain longer than 1000 images (a loop?)");
            }
        }
        PrintWriter out = out();
        if (json) {
            List<Map<String, Object>> jsonChain = chain.stream().map(InfoCommand::forJson).toList();
            out.println(Json.pretty(backingChain ? jsonChain : jsonChain.getFirst()));
        } else {
            for (int i = 0; i < chain.size(); i++) {
                if (i > 0) {
                    out.println();
                }
                printHuman(out, chain.get(i));
            }
        }
        return 0;
    }

    /** The fields of {@code qemu-img info --output=json}, in its order, plus {@code io-engine}. */
    static Map<String, Object> describe(Path file, ImageInfo info) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("virtual-size", info.virtualSize());
        m.put("filename", file.toString());
        if (info.clusterSize() != 0) {
            m.put("cluster-size", info.clusterSize());
        }
        m.put("format", info.format());
        m.put("actual-size", Images.actualSize(file));
        if (!info.formatSpecific().isEmpty()) {
            Map<String, Object> specific = new LinkedHashMap<>();
            specific.put("type", info.format());
            specific.put("data", info.formatSpecific());
            m.put("format-specific", specific);
        }
        if (info.backingFilename() != null) {
            m.put("full-backing-filename", fullBackingName(file, info.backingFilename()));
            m.put("backing-filename", info.backingFilename());
            if (info.backingFormat() != null) {
                m.put("backing-filename-format", info.backingFormat());
            }
        }
        m.put("dirty-flag", info.dirtyFlag());
        m.put("io-engine", info.ioEngine());
        return m;
    }

    /**
     * qemu's path_combine: a relative backing name is taken relative to the folder of the image as the user named
     * it, so a relative image path gives a relative full backing name, as qemu-img prints it.
     */
    static String fullBackingName(Path image, String backing) {
        Path b = Path.of(backing);
        Path parent = image.getParent();
        return b.isAbsolute() || parent == null ? backing : parent.resolve(b).toString();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> forJson(Map<String, Object> entry) {
        if (!(entry.get("snapshots") instanceof List<?> list)) {
            return entry;
        }
        Map<String, Object> copy = new LinkedHashMap<>(entry);
        copy.put("snapshots", ((List<io.jblk.api.SnapshotLister.SnapshotInfo>) list).stream()
                .map(SnapshotCommand::json).toList());
        return copy;
    }

    /** qemu-img's human layout of the same fields. */
    static void printHuman(PrintWriter out, Map<String, Object> m) {
        out.println("image: " + m.get("filename"));
        out.println("file format: " + m.get("format"));
        long size = (Long) m.get("virtual-size");
        out.println("virtual size: " + Sizes.human(size) + " (" + size + " bytes)");
        out.println("disk size: " + Sizes.human((Long) m.get("actual-size")));
        if (m.containsKey("cluster-size")) {
            out.println("cluster_size: " + m.get("cluster-size"));
        }
        if (m.containsKey("backing-filename")) {
            String backing = (String) m.get("backing-filename");
            String full = (String) m.get("full-backing-filename");
            out.println("backing file: " + backing + (full.equals(backing) ? "" : " (actual path: " + full + ")"));
            if (m.containsKey("backing-filename-format")) {
                out.println("backing file format: " + m.get("backing-filename-format"));
            }
        }
        if (Boolean.TRUE.equals(m.get("dirty-flag"))) {
            out.println("cleanly shut down: no");
        }
        if (m.get("snapshots") instanceof List<?> snapshots) {
            out.println("Snapshot list:");
            SnapshotCommand.printTable(out, snapshots.stream().map(s -> (io.jblk.api.SnapshotLister.SnapshotInfo) s).toList());
        }
        if (m.get("format-specific") instanceof Map<?, ?> specific && specific.get("data") instanceof Map<?, ?> data) {
            out.println("Format specific information:");
            printTree(out, data, "    ");
        }
        out.println("io engine: " + m.get("io-engine"));
    }

    private static void printTree(PrintWriter out, Map<?, ?> data, String indent) {
        for (Map.Entry<?, ?> e : data.entrySet()) {
            String key = String.valueOf(e.getKey()).replace('-', ' ');
            Object value = e.getValue();
            if (value instanceof Map<?, ?> nested) {
                out.println(indent + key + ":");
                printTree(out, nested, indent + "    ");
            } else if (value instanceof List<?> list) {
                out.println(indent + key + ":");
                for (int i = 0; i < list.size(); i++) {
                    if (list.get(i) instanceof Map<?, ?> item) {
                        out.println(indent + "    [" + i + "]:");
                        printTree(out, item, indent + "        ");
                    } else {
                        out.println(indent + "    [" + i + "]: " + list.get(i));
                    }
                }
            } else {
                out.println(indent + key + ": " + value);
            }
        }
    }
}
