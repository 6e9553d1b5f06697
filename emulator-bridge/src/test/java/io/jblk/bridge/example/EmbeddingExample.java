package io.jblk.bridge.example;

import io.jblk.api.BlockDriver;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;
import io.jblk.bridge.GuestMemory;
import io.jblk.bridge.InterruptLine;
import io.jblk.bridge.VirtioBlkDevice;
import io.jblk.bridge.VirtioMmioTransport;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/** How a multi-threaded emulator embeds a jblk disk as a virtio-mmio block device (threaded delivery). */
public final class EmbeddingExample {
    private EmbeddingExample() {
    }

    /** The image formats the installed drivers open, e.g. [qcow2, raw]. */
    public static List<String> formats() {
        return BlockDrivers.installed().stream().map(BlockDriver::formatName).toList();
    }

    /**
     * Opens {@code image} and builds the device for one MMIO window.
     *
     * @param format  "qcow2", "raw", ... (never null for an image the guest can write: probing trusts its bytes)
     * @param ram     the guest RAM the emulator already has, mapped at guest-physical {@code ramBase}
     * @param irq     the interrupt line of the window; the device drives its level (see InterruptLine's contract)
     */
    public static VirtioMmioTransport attach(Path image, String format, MemorySegment ram, long ramBase,
                                             InterruptLine irq) {
        GuestMemory memory = GuestMemory.of(ramBase, ram);
        return VirtioBlkDevice.open(image, format, OpenOptions.defaults(), memory)
                .queues(2)
                .serial("jblk-disk0")
                .buildMmio(irq);
    }

    /** The emulator's bus calls these for accesses inside [base, base + WINDOW_SIZE), from any vCPU thread. */
    public static long mmioRead(VirtioMmioTransport disk, long base, long address, int size) {
        return disk.read((int) (address - base), size);
    }

    public static void mmioWrite(VirtioMmioTransport disk, long base, long address, int size, long value) {
        disk.write((int) (address - base), size, value);
    }
}
