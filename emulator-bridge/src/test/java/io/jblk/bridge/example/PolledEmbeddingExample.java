package io.jblk.bridge.example;

import io.jblk.api.OpenOptions;
import io.jblk.bridge.GuestMemory;
import io.jblk.bridge.InterruptLine;
import io.jblk.bridge.VirtioBlkDevice;
import io.jblk.bridge.VirtioMmioTransport;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/** A single-threaded emulator: guest RAM behind its own accessors, the disk served from the CPU loop. */
public final class PolledEmbeddingExample {
    private PolledEmbeddingExample() {
    }

    /** The emulator's RAM as it keeps it (here one array at a guest-physical base), offered by copying only. */
    public record ArrayRam(long base, byte[] bytes) implements GuestMemory {
        @Override
        public boolean contains(long address, long length) {
            return address >= base && address - base <= bytes.length - length;
        }

        @Override
        public void read(long address, MemorySegment into) {
            MemorySegment.copy(bytes, (int) (address - base), into, ValueLayout.JAVA_BYTE, 0, (int) into.byteSize());
        }

        @Override
        public void write(long address, MemorySegment from) {
            MemorySegment.copy(from, ValueLayout.JAVA_BYTE, 0, bytes, (int) (address - base), (int) from.byteSize());
        }
    }

    /** Builds the disk with the board; completions wait for the CPU thread, which is woken when there are some. */
    public static VirtioMmioTransport attach(Path image, String format, GuestMemory ram, Thread cpu) {
        return VirtioBlkDevice.open(image, format, OpenOptions.defaults(), ram)
                .serial("jblk-disk0")
                .polled(() -> LockSupport.unpark(cpu))
                .closeAtJvmExit(true)
                .buildMmio();
    }

    /** Later, once the interrupt controller exists; the line is only ever called from the CPU thread. */
    public static void wire(VirtioMmioTransport disk, InterruptLine irq) {
        disk.connect(irq);
    }

    /** One turn of the CPU loop: run a slice of guest code (its MMIO accesses call disk.read/write), then poll. */
    public static void cpuLoopTurn(VirtioMmioTransport disk, Runnable guestSlice, boolean halted) {
        guestSlice.run();
        if (disk.poll() == 0 && halted) {
            LockSupport.parkNanos(1_000_000); // WFI until the device's wake-up (or a timer)
        }
    }

    /** Poweroff: publish what the guest submitted, then close (flushes and closes the image). */
    public static void powerOff(VirtioMmioTransport disk) throws InterruptedException {
        if (!disk.drain(Duration.ofSeconds(30))) {
            System.err.println("disk: " + disk.device().requestsInFlight() + " requests still in flight");
        }
        System.err.println("disk: " + disk.device().lastNegotiation());
        disk.close();
    }
}
