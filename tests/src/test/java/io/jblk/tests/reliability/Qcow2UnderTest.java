package io.jblk.tests.reliability;

import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.qcow2.Qcow2Driver;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The qcow2 driver as a {@link DeviceUnderTest}, plus image set-up through QEMU's own tools. */
final class Qcow2UnderTest {
    private Qcow2UnderTest() {
    }

    static final DeviceUnderTest QCOW2 = (image, opener, readOnly) ->
            new Qcow2Driver().open(image, OpenOptions.builder().readOnly(readOnly).build(), opener);

    /** The same, as a {@link ResizableDevice}: a workload may resize it (close, resize, reopen). */
    static final DeviceUnderTest QCOW2_RESIZABLE = (image, opener, readOnly) ->
            new ReopeningResizeDevice(image, OpenOptions.builder().readOnly(readOnly).build(), opener);

    /** Opens the image as {@code jblk check -r} does: {@code repair=on} (an image flagged corrupt opens for repair). */
    static final DeviceUnderTest QCOW2_FOR_REPAIR = (image, opener, readOnly) -> new Qcow2Driver().open(image,
            OpenOptions.builder().readOnly(readOnly).formatOption("repair", "on").build(), opener);

    /** {@code qemu-img create -f qcow2 -o OPTIONS PATH SIZE}. */
    static Path create(Path path, long size, String options) throws IOException, InterruptedException {
        ExternalTool.qemuImg("create", "-q", "-f", "qcow2", "-o", options, path.toString(), Long.toString(size)).ok();
        return path;
    }

    /** The guest content as QEMU reads it ({@code qemu-img convert -O raw}), independent of the driver under test. */
    static byte[] guestContent(Path image) throws IOException, InterruptedException {
        Path raw = Files.createTempFile(image.getParent(), "guest", ".raw");
        try {
            ExternalTool.qemuImg("convert", "-f", "qcow2", "-O", "raw", image.toString(), raw.toString()).ok();
            return Files.readAllBytes(raw);
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /** qemu-io commands run on the image before recording (pre-filled data, not under test). */
    static void qemuIo(Path image, String... commands) throws IOException, InterruptedException {
        List<String> args = new ArrayList<>(List.of("-f", "qcow2"));
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        args.add(image.toString());
        ExternalTool.qemuIo(args.toArray(String[]::new)).ok();
    }
}
