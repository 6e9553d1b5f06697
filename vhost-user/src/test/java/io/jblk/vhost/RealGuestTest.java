package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Linux guest (Debian's cloud kernel, virtio_blk, ext4, fio) on a vhost-user-blk disk in QEMU 7.2: mkfs.ext4
 * on a qcow2 with extended L2 entries over a raw backing file, files written with fsync, small files, deletes,
 * O_DIRECT fio with verification on both request queues (-smp 2, num-queues=2), fstrim, e2fsck, a read-only remount
 * with md5 sums; then on the host: qemu-img check clean, e2fsck of the converted image clean, every guest md5 equal
 * to the host's.
 */
class RealGuestTest {
    @TempDir
    Path dir;

    @BeforeAll
    static void tools() throws Exception {
        RealGuest.requireTools();
    }

    /**
     * The same workload and checks against QEMU's own back-end, so the guest side and the host checks are proven
     * independently of jblk.
     */
    @Test
    void qemuStorageDaemonPassesTheWorkload() throws Exception {
        Path image = RealGuest.overlayOverFullBacking(dir, "128M", "128k");
        Path socket = dir.resolve("qsd.sock");
        Process qsd = new ProcessBuilder("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=file0,filename=" + image + ",cache.direct=on",
                "--blockdev", "driver=qcow2,node-name=disk0,file=file0,discard=unmap",
                "--export", "type=vhost-user-blk,id=e0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=on,num-queues=2")
                .redirectErrorStream(true).redirectOutput(dir.resolve("qsd.log").toFile()).start();
        try {
            awaitSocket(socket, qsd);
            Path log = dir.resolve("console.log");
            RealGuest.Boot boot = RealGuest.boot(log, "--socket", socket.toString(), "--smp", "2", "--queues", "2");
            boot.assertPassed();
            assertBothQueuesUsed(boot);
        } finally {
            qsd.destroy();
            qsd.waitFor(30, TimeUnit.SECONDS);
        }
        RealGuest.checkImage(image, dir.resolve("console.log"));
    }

    @Test
    void jblkPassesTheWorkload() throws Exception {
        Path image = RealGuest.overlayOverFullBacking(dir, "128M", "128k");
        Path socket = dir.resolve("jblk.sock");
        BlockDevice device = BlockDrivers.open(image, "qcow2", OpenOptions.defaults());
        VhostUserBlkServer server = VhostUserBlkServer.builder(device, socket).queues(2).serial("jblk-real-guest")
                .closeDeviceOnClose(true).build();
        Thread serving = Thread.ofPlatform().name("jblk-vhost-server").start(() -> {
            try {
                server.run();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Path log = dir.resolve("console.log");
        try {
            RealGuest.Boot boot = RealGuest.boot(log, "--socket", socket.toString(), "--smp", "2", "--queues", "2");
            boot.assertPassed();
            assertBothQueuesUsed(boot);
            assertEquals(1, server.connections(), "one front-end connection (SeaBIOS and Linux share it)");
        } finally {
            server.close();
            serving.join(30_000);
        }
        RealGuest.checkImage(image, log);
    }

    static void assertBothQueuesUsed(RealGuest.Boot boot) {
        List<Long> irqs = boot.queueInterrupts();
        assertEquals(2, irqs.size(), "two request queues in /proc/interrupts:\n" + boot.console());
        assertTrue(irqs.stream().allMatch(n -> n > 0), "both queues completed requests: " + irqs);
    }

    static void awaitSocket(Path socket, Process owner) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!java.nio.file.Files.exists(socket)) {
            if (!owner.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError("the back-end did not create " + socket);
            }
            Thread.sleep(20);
        }
    }
}
