package io.jblk.bridge;

import io.jblk.api.OpenOptions;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;

/**
 * Child JVM for {@link EmbedderApiTest}: an "emulator" without a close hook. It opens a qcow2 image as a virtio
 * disk (with or without {@code closeAtJvmExit}), writes to it, and exits without closing the device.
 */
public final class ExitHookProbe {
    private ExitHookProbe() {
    }

    public static void main(String[] args) {
        Path image = Path.of(args[0]);
        boolean hook = Boolean.parseBoolean(args[1]);
        GuestRam ram = new GuestRam(1 << 20);
        VirtioMmioTransport disk = VirtioBlkDevice.open(image, "qcow2", OpenOptions.defaults(), ram.memory)
                .closeAtJvmExit(hook).buildMmio(level -> {
                    throw new IllegalStateException("the exit hook must not call the emulator");
                });
        MemorySegment data = MemorySegment.ofArray(new byte[65536]).fill((byte) 0x5a);
        disk.device().blockDevice().write(0, data, false).join(); // its metadata stays cached until a flush
        System.out.println("written");
        System.exit(0); // no close: the emulator just ends
    }
}
