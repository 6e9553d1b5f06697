package io.jblk.bridge;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

import static io.jblk.bridge.Fixture.ALL_FEATURES;
import static io.jblk.bridge.VirtioBlkRequest.S_OK;
import static org.junit.jupiter.api.Assertions.*;

/**
 * An emulator with one big machine lock, the way single-hart JVM emulators are written: one vCPU thread runs the
 * guest, holding the lock while it executes (here: the guest driver's submissions, kicks and its interrupt handler),
 * and lets it go only between time slices; the interrupt controller is guarded by the same lock, so
 * {@link InterruptLine#set} takes it. The device must serve {@value #REQUESTS} requests without stalling: it may not
 * call the line while holding a lock that a register access needs, nor make the vCPU wait for a thread that is
 * itself waiting for the machine lock. In polled mode the vCPU also calls {@code poll()} in each slice, as a
 * single-threaded emulator's CPU loop does, and sleeps in WFI until the device's wake-up hook unparks it.
 */
@ParameterizedClass
@EnumSource(Wiring.class)
class BigLockTest {
    @Parameter
    Wiring wiring;

    static final int REQUESTS = 100_000;
    static final int LANES = 32;   // requests the guest keeps in flight
    static final int BLOCK = 4096;
    static final int SLICE = 8;    // guest steps per hold of the machine lock

    @TempDir
    Path dir;

    @Test
    void machineLockAroundMmioAndInsideTheInterruptLineNeverStalls() throws Exception {
        Path image = dir.resolve("disk.raw");
        BlockDrivers.create(image, "raw", CreateOptions.builder(8 << 20).build());
        GuestRam ram = new GuestRam(32 << 20, wiring.memory);
        GuestBlkDriver guest = new GuestBlkDriver(ram, false);
        Thread[] vcpu = new Thread[1];
        VirtioBlkDevice.Builder builder = VirtioBlkDevice.builder(
                BlockDrivers.open(image, "raw", OpenOptions.defaults()), ram.memory)
                .queues(1).queueSize(128).closeBlockDeviceOnClose(true);
        if (wiring.polled) {
            builder.polled(() -> LockSupport.unpark(vcpu[0]));
        }
        VirtioMmioTransport mmio = builder.buildMmio(guest.interruptLine());
        guest.attach(mmio);
        ReentrantLock machine = new ReentrantLock(true); // fair: I/O threads get their turn between slices
        guest.machineLock = machine;
        assertTrue(guest.initialize(ALL_FEATURES, 1, 128));
        AtomicLong completed = new AtomicLong();
        StallWatchdog.run("big-lock vCPU", completed, () -> {
            vcpu[0] = Thread.currentThread();
            vcpu(guest, mmio, machine, completed);
            return null;
        });
        assertEquals(REQUESTS, completed.get());
        // Only after success: a stalled device would make close wait for its requests forever.
        mmio.close();
        guest.close();
        ram.close();
    }

    /**
     * The single hart: each lane owns one block and alternates a write of a fresh pattern with a read that must
     * return it; the interrupt handler runs on this thread when the line is asserted, as a CPU takes an interrupt.
     */
    private static void vcpu(GuestBlkDriver guest, VirtioMmioTransport mmio, ReentrantLock machine,
                             AtomicLong completed) {
        CompletableFuture<?>[] inFlight = new CompletableFuture<?>[LANES];
        int[] round = new int[LANES];
        long issued = 0;
        while (completed.get() < REQUESTS) {
            boolean busy = false;
            machine.lock();
            try {
                for (int step = 0; step < SLICE; step++) {
                    if (mmio.poll() > 0) { // polled mode: the device catches up here (threaded: does nothing)
                        busy = true;
                    }
                    if (guest.lineAsserted()) {
                        guest.handleInterrupt();
                        busy = true;
                    }
                    for (int lane = 0; lane < LANES; lane++) {
                        if (inFlight[lane] != null) {
                            if (!inFlight[lane].isDone()) {
                                continue;
                            }
                            inFlight[lane].join(); // assertions ran in the completion stage
                            inFlight[lane] = null;
                            completed.incrementAndGet();
                        }
                        if (issued < REQUESTS) {
                            inFlight[lane] = submit(guest, lane, round[lane]++);
                            issued++;
                            busy = true;
                        }
                    }
                }
            } finally {
                machine.unlock();
            }
            if (!busy) {
                LockSupport.parkNanos(50_000); // WFI: nothing to run until an interrupt
            }
        }
    }

    private static CompletableFuture<?> submit(GuestBlkDriver guest, int lane, int round) {
        long sector = (long) lane * (BLOCK / 512);
        if (round % 2 == 0) {
            return guest.write(0, sector, pattern(lane, round), 1, round % 4 == 0)
                    .thenAccept(r -> assertEquals(S_OK, r.status(), "write"));
        }
        byte[] want = pattern(lane, round - 1);
        return guest.read(0, sector, BLOCK, 1, round % 3 == 0).thenAccept(r -> {
            assertEquals(S_OK, r.status(), "read");
            assertArrayEquals(want, r.data(), "lane " + lane + " reads back its last write");
        });
    }

    private static byte[] pattern(int lane, int round) {
        byte[] data = new byte[BLOCK];
        Arrays.fill(data, (byte) (lane * 7 + round));
        ByteBuffer.wrap(data).putInt(lane).putInt(round);
        return data;
    }
}
