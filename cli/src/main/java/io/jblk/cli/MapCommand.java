package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;
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

/** {@code qemu-img map [-f fmt] [--output=human|json] FILE}, plus {@code --picture} for an allocation picture. */
@Command(name = "map", description = "Dump the metadata of an image: how each byte range is stored.")
final class MapCommand extends Subcommand {
    @Mixin
    ImageArgument image;
    @Option(names = "--output", paramLabel = "human|json", defaultValue = "human")
    String output;
    @Option(names = {"-s", "--start-offset"}, paramLabel = "offset", defaultValue = "0")
    String startOffset;
    @Option(names = {"-l", "--max-length"}, paramLabel = "length")
    String maxLength;
    @Option(names = "--picture", paramLabel = "out.svg|out.png|-",
            description = "draw the allocation instead: SVG or PNG by extension, text on stdout for '-'")
    String picture;

    @Override
    public Integer call() throws IOException {
        boolean json = OutputFormat.isJson(output);
        long start = Sizes.parseArgument("start offset", startOffset);
        Long max = maxLength == null ? null : Sizes.parseArgument("max length", maxLength);
        try (BlockDevice device = Images.open(image.file, image.format, true, image.forceShare)) {
            long length = max == null ? device.size() : max;
            if (picture != null) {
                AllocationPicture pic = AllocationPicture.of(device, ExtentMap.all(device));
                List<AllocationPicture> pictures = new ArrayList<>(List.of(pic));
                if (device instanceof io.jblk.api.HostLayout host) {
                    pictures.add(AllocationPicture.ofHost(host));
                }
                if (picture.equals("-")) {
                    for (AllocationPicture p : pictures) {
                        p.writeText(out());
                    }
                } else {
                    AllocationPicture.writeFile(Path.of(picture), pictures);
                    out().println("Wrote " + picture + ": " + pic.summary()
                            + (pictures.size() > 1 ? "; host file: " + pictures.get(1).summary() : ""));
                }
                return 0;
            }
            PrintWriter out = out();
            if (json) {
                List<String> lines = new ArrayList<>();
                ExtentMap.walk(device, start, length, e -> lines.add(Json.line(jsonEntry(e))));
                out.println("[" + String.join(",\n", lines) + "]");
                return 0;
            }
            List<String> layers = layerNames();
            out.printf("%-16s%-16s%-16s%s%n", "Offset", "Length", "Mapped to", "File");
            List<Extent> extents = new ArrayList<>();
            ExtentMap.walk(device, start, length, extents::add);
            for (Extent e : extents) {
                if (e.data() && !e.hasHostOffset()) {
                    throw new CliException("File contains external, encrypted or compressed clusters.");
                }
                if (e.data() && !e.zero()) {
                    String name = e.depth() < layers.size() ? layers.get(e.depth()) : "";
                    out.printf("%-16s%-16s%-16s%s%n", hex(e.offset()), hex(e.length()), hex(e.hostOffset()), name);
                }
            }
        }
        return 0;
    }

    /** One entry of {@code qemu-img map --output=json}, fields in its order; "offset" only when known. */
    static Map<String, Object> jsonEntry(Extent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("start", e.offset());
        m.put("length", e.length());
        m.put("depth", e.depth());
        m.put("present", e.present());
        m.put("zero", e.zero());
        m.put("data", e.data());
        if (e.hasHostOffset()) {
            m.put("offset", e.hostOffset());
        }
        return m;
    }

    /**
     * The "File" column of qemu-img map by depth: the file each layer of the backing chain keeps its data in (its
     * external data file when it has one).
     */
    private List<String> layerNames() {
        return BackingChain.of(image.file, image.format, image.forceShare).stream()
                .map(BackingChain.Layer::dataFileName).toList();
    }

    /** C's {@code %#x}: 0 stays "0", everything else gets "0x". */
    static String hex(long value) {
        return value == 0 ? "0" : "0x" + Long.toHexString(value);
    }
}
