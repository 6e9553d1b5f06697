package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.ImageInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The images of a backing chain, top first, named as qemu-img names them, and file identity for loop checks. */
final class BackingChain {
    /** More layers than any driver opens (qcow2 stops at 64): a bound, not a policy. */
    private static final int MAX_LAYERS = 1000;

    /**
     * One image of the chain.
     *
     * @param name the path as qemu-img prints it: relative backing names joined to the folder of the image above,
     *             as the user named that image (so a relative image path gives relative names)
     */
    record Layer(String name, ImageInfo info) {
        /**
         * The file that holds this layer's guest data, as {@code qemu-img map} names it: the external data file when
         * the image has one (resolved like a backing name), else the image itself.
         */
        String dataFileName() {
            return info.formatSpecific().get("data-file") instanceof String dataFile
                    ? InfoCommand.fullBackingName(Path.of(name), dataFile) : name;
        }
    }

    private BackingChain() {
    }

    /**
     * Opens each image of the chain below {@code top} in turn for its metadata only, as qemu-img inspects a chain
     * (no consistent-read permission; with {@code forceShare}, -U, refusing no one); {@code format} null probes the
     * top.
     */
    static List<Layer> of(Path top, String format, boolean forceShare) {
        List<Layer> layers = new ArrayList<>();
        String name = top.toString();
        String layerFormat = format;
        while (name != null && layers.size() < MAX_LAYERS) {
            ImageInfo info;
            try (BlockDevice device = Images.open(Path.of(name), layerFormat,
                    Images.options(true, forceShare).metadataOnly(true).build())) {
                info = device.info();
            } catch (IOException e) {
                throw new CliException("Could not read '" + name + "': " + Images.describe(e));
            }
            layers.add(new Layer(name, info));
            name = info.backingFilename() == null ? null
                    : InfoCommand.fullBackingName(Path.of(name), info.backingFilename());
            layerFormat = info.backingFormat();
        }
        return layers;
    }

    /**
     * Whether two paths name the same file: by device and inode when both exist (hard links, symbolic links,
     * "./x" and "x" all count), else by their real folder and file name.
     */
    static boolean sameFile(Path a, Path b) {
        try {
            if (Files.exists(a) && Files.exists(b)) {
                return Files.isSameFile(a, b);
            }
            return canonical(a).equals(canonical(b));
        } catch (IOException e) {
            return canonical(a).equals(canonical(b));
        }
    }

    /** Real folder plus file name; a dangling symbolic link is followed to where it points (40 hops, as Linux). */
    private static Path canonical(Path p) {
        Path absolute = p.toAbsolutePath().normalize();
        for (int hops = 0; hops < 40 && Files.isSymbolicLink(absolute); hops++) {
            try {
                absolute = absolute.resolveSibling(Files.readSymbolicLink(absolute)).toAbsolutePath().normalize();
            } catch (IOException e) {
                break;
            }
        }
        Path parent = absolute.getParent();
        if (parent == null || absolute.getFileName() == null) {
            return absolute;
        }
        try {
            return parent.toRealPath().resolve(absolute.getFileName());
        } catch (IOException e) {
            return absolute;
        }
    }
}
