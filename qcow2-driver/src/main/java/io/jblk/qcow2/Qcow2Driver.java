package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDriver;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.ImageChecker;
import io.jblk.api.ImageFormatException;
import io.jblk.api.ImageResizer;
import io.jblk.api.OpenOptions;
import io.jblk.nativeio.FileInUseException;
import io.jblk.nativeio.HostFileDriver;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.qcow2.check.Qcow2Checker;
import io.jblk.qcow2.format.Qcow2Header;
import io.jblk.qcow2.image.Qcow2Image;
import io.jblk.qcow2.io.Backing;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;

/** The qcow2 format (versions 2 and 3, Extended L2 Entries included), byte-compatible with QEMU 7.2. */
public final class Qcow2Driver implements HostFileDriver, ImageResizer {
    /**
     * The most images a backing chain may hold, the top image included (a loop that escaped detection cannot recurse
     * forever, and each image holds open files and, with io_uring, a ring and its thread). QEMU 7.2 has no such
     * limit (it opened a 301-image chain).
     */
    public static final int MAX_CHAIN_DEPTH = 64;
    /** Internal open option carrying the chain of images above this one, to refuse loops. */
    static final String CHAIN_OPTION = "x-jblk-backing-chain";
    /**
     * Open option {@code backing=off}: open the image without its backing chain (qemu-img info's way), so that an
     * image whose backing file is missing can still be inspected; unallocated clusters then read as zeros.
     */
    public static final String BACKING_OPTION = "backing";

    @Override
    public String formatName() {
        return "qcow2";
    }

    @Override
    public int probe(MemorySegment header, Path path) {
        if (header.byteSize() >= 4
                && header.get(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.BIG_ENDIAN), 0) == Qcow2Header.MAGIC) {
            return 100;
        }
        return 0;
    }

    /** The options of {@code jblk create -f qcow2 -o help}, with qemu-img's names and wording. */
    @Override
    public List<OptionHelp> createOptionHelp() {
        return List.of(
                new OptionHelp("backing_file", "str", "File name of a base image"),
                new OptionHelp("backing_fmt", "str", "Image format of the base image"),
                new OptionHelp("cluster_size", "size", "qcow2 cluster size"),
                new OptionHelp("compat", "str", "Compatibility level (v2 [0.10] or v3 [1.1])"),
                new OptionHelp("compression_type", "str", "Compression method used for image cluster compression"),
                new OptionHelp("data_file", "str", "File name of an external data file"),
                new OptionHelp("data_file_raw", "bool (on/off)", "The external data file must stay valid as a raw image"),
                new OptionHelp("extended_l2", "bool (on/off)", "Extended L2 tables"),
                new OptionHelp("lazy_refcounts", "bool (on/off)", "Postpone refcount updates"),
                new OptionHelp("preallocation", "str", "Preallocation mode (allowed values: off, metadata, falloc, full)"),
                new OptionHelp("refcount_bits", "num", "Width of a reference count entry in bits"),
                new OptionHelp("size", "size", "Virtual disk size"));
    }

    @Override
    public void create(Path path, CreateOptions options) throws IOException {
        create(path, options, HostFileOpener.DEFAULT);
    }

    public void create(Path path, CreateOptions options, HostFileOpener opener) throws IOException {
        Qcow2Creator.create(path, options, opener);
    }

    @Override
    public BlockDevice open(Path path, OpenOptions options) throws IOException {
        return open(path, options, HostFileOpener.DEFAULT);
    }

    /** Opens an image whose host files come from {@code opener} (tests pass recording or failing decorators). */
    @Override
    public Qcow2Device open(Path path, OpenOptions options, HostFileOpener opener) throws IOException {
        boolean repairMode = "on".equals(options.formatOption("repair", "off"));
        Qcow2Image image = Qcow2Image.open(path, options, opener, repairMode);
        BlockDevice backing = null;
        try {
            if (!"off".equals(options.formatOption(BACKING_OPTION, "on"))) {
                backing = openBacking(image, options, opener);
            }
            if (image.isWritable() && image.isDirty() && image.corruption() == null && !repairMode) {
                // Refcounts may be stale (lazy refcounts and a crash): rebuild them before anything allocates.
                // Not when opened for a check (repair=on): the check's own repair does it, and reports it.
                image.lock().lock();
                try {
                    new Qcow2Checker(image).check(ImageChecker.Repair.ALL);
                } finally {
                    image.lock().unlock();
                }
            }
            image.prepareForWriting();
            boolean subclusterDiscard = !"cluster".equals(options.formatOption("discard-granularity", "subcluster"));
            boolean compress = "on".equals(options.formatOption("compress", "off"));
            if (compress && image.hasExternalData()) {
                throw new io.jblk.api.InvalidOptionException("compress=on: images with an external data file cannot"
                        + " hold compressed clusters");
            }
            Qcow2Device device = new Qcow2Device(image, Backing.of(backing), subclusterDiscard, compress);
            return device;
        } catch (IOException | RuntimeException e) {
            try {
                image.close();
            } finally {
                if (backing != null) {
                    backing.close();
                }
            }
            throw e;
        }
    }

    /**
     * Resizes an image. An external data file follows the new size (grown or cut, as QEMU does), and with
     * {@code data_file_raw} the new clusters are mapped one to one. Growing an overlay whose backing image is longer
     * than the old size zeroes the new area first, so the backing data that used to lie beyond the end does not
     * reappear, not even after a crash in the middle.
     */
    @Override
    public void resize(Path path, OpenOptions options, long newSize) throws IOException {
        resize(path, options, newSize, HostFileOpener.DEFAULT);
    }

    /** {@link #resize(Path, OpenOptions, long)} with host files from {@code opener} (crash and fault tests). */
    public void resize(Path path, OpenOptions options, long newSize, HostFileOpener opener) throws IOException {
        try (Qcow2Device device = open(path, options.toBuilder().readOnly(false).build(), opener)) {
            long oldSize = device.size();
            long backingSize = device.backingSize();
            if (newSize > oldSize && backingSize > oldSize) {
                device.zeroBeyondEnd(oldSize, Math.min(newSize, backingSize), newSize);
            }
            Qcow2Image image = device.image();
            image.lock().lock();
            try {
                image.checkWritable();
                if (image.hasExternalData() && newSize > oldSize) {
                    image.dataFile().truncate(newSize);
                }
                image.resize(newSize);
                if (image.hasExternalData() && newSize < oldSize) {
                    image.dataFile().truncate(newSize);
                }
                if (image.header().isDataFileRaw() && newSize > oldSize) {
                    // The raw data file must read the same with or without the metadata: map the new clusters one
                    // to one, as at creation (QEMU does the same when it grows such an image).
                    long firstNew = (oldSize + image.geometry().clusterSize() - 1) >>> image.geometry().clusterBits();
                    Qcow2Creator.preallocate(image, firstNew, "metadata");
                }
            } finally {
                image.lock().unlock();
            }
        }
    }

    /**
     * Opens the backing image read-only. A backing image whose driver opens host files (qcow2, raw) opens them
     * through {@code opener} too, so the whole chain goes through one seam (tests inject faults into backing reads);
     * other formats open through their own driver.
     */
    private static BlockDevice openBacking(Qcow2Image image, OpenOptions options, HostFileOpener opener)
            throws IOException {
        String name = image.header().backingFile();
        if (name == null) {
            return null;
        }
        Path backingPath = options.confinement().check(image.path(), "backing file",
                Qcow2Image.resolve(image.path(), name));
        String self = image.path().toAbsolutePath().normalize().toString();
        String chain = options.formatOption(CHAIN_OPTION, "");
        List<String> above = chain.isEmpty() ? List.of() : List.of(chain.split("\n"));
        String target = backingPath.toAbsolutePath().normalize().toString();
        if (target.equals(self) || above.contains(target)) {
            throw ImageFormatException.field("backing file of " + self, target,
                    "an image that is not already in the chain (the backing chain loops)");
        }
        // above + this image + the backing file: the images the chain would hold once the backing file is open
        int images = above.size() + 2;
        if (images > MAX_CHAIN_DEPTH) {
            throw new ImageFormatException("backing chain too long: " + backingPath + " would be image " + images
                    + " of the chain (counting the top image as 1), at most " + MAX_CHAIN_DEPTH + " are opened");
        }
        if (!java.nio.file.Files.exists(backingPath)) {
            throw new java.nio.file.NoSuchFileException(backingPath.toString(), null, "Could not open backing file");
        }
        OpenOptions backingOptions = io.jblk.nativeio.HostFileOpening.backingOptions(options)
                .confinement(options.confinement().forFilesNamedBy(image.path()))
                .formatOption(CHAIN_OPTION, chain.isEmpty() ? self : chain + "\n" + self)
                .build();
        String format = image.header().backingFormat();
        BlockDriver driver = format == null ? BlockDrivers.probe(backingPath) : BlockDrivers.require(format);
        try {
            return switch (driver) {
                case HostFileDriver hostFiles -> hostFiles.open(backingPath, backingOptions, opener);
                default -> driver.open(backingPath, backingOptions);
            };
        } catch (FileInUseException e) {
            throw e.inContext("Could not open backing file: "); // QEMU's words for the same refusal
        }
    }
}
