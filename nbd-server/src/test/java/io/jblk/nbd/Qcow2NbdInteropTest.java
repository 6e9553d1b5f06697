package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static io.jblk.api.testing.ExternalTool.qemuImg;
import static io.jblk.api.testing.ExternalTool.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A qcow2 image with extended L2 entries over a raw backing file, served by jblk and by qemu-nbd in turn: nbdinfo
 * must see the same export and the same maps, down to single subclusters.
 */
@Timeout(180)
class Qcow2NbdInteropTest {
    @TempDir
    Path dir;
    Path top;

    @BeforeEach
    void images() throws Exception {
        assumeTrue(BlockDrivers.byName("qcow2").isPresent(), "qcow2 driver not installed");
        Path base = dir.resolve("base.raw");
        top = dir.resolve("top.qcow2");
        qemuImg("create", "-f", "raw", base.toString(), "4M").ok();
        qemuIo("-f", "raw", "-c", "write -P 0x11 0 1M", "-c", "write -P 0x12 2M 256k", base.toString()).ok();
        qemuImg("create", "-f", "qcow2", "-o", "extended_l2=on,cluster_size=64k", "-b", base.toString(), "-F", "raw",
                top.toString(), "4M").ok();
        // Single 2 KiB subclusters, zeroed ranges, a discard and a whole-cluster run.
        qemuIo("-f", "qcow2", "-c", "write -P 0x21 64k 2k", "-c", "write -P 0x22 70k 4k", "-c", "write -z 512k 64k",
                "-c", "write -z 1030k 2k", "-c", "discard 2M 64k", "-c", "write -P 0x23 3M 128k", top.toString()).ok();
    }

    static ExternalTool.Result tool(String... command) throws Exception {
        ExternalTool.assumeAvailable(command[0]);
        return ExternalTool.run(command);
    }

    /** nbdinfo's JSON fields, map and allocation-depth map for the export behind {@code uri}. */
    static List<Object> observe(String uri) throws Exception {
        Map<String, String> fields = NbdInteropTest.fields(tool("nbdinfo", "--json", uri).ok().stdout());
        return List.of(fields, tool("nbdinfo", "--map", uri).ok().stdout(),
                tool("nbdinfo", "--map=qemu:allocation-depth", uri).ok().stdout());
    }

    @Test
    void nbdinfoSeesWhatQemuNbdShows() throws Exception {
        Path sock = dir.resolve("jblk.sock");
        String uri = "nbd+unix:///disk?socket=" + sock;
        List<Object> ours;
        Path out = dir.resolve("out.raw");
        try (BlockDevice dev = BlockDrivers.open(top, "qcow2", OpenOptions.builder().readOnly(true).build());
             NbdServer s = NbdServer.builder().device(dev).exportName("disk").unixSocket(sock).maxConnections(1)
                     .build().start()) {
            ours = observe(uri);
            qemuImg("convert", "-f", "raw", "-O", "raw", uri, out.toString()).ok();
        }
        qemuImg("compare", "-f", "qcow2", "-F", "raw", top.toString(), out.toString()).ok();
        String depth = (String) ours.get(2);
        assertTrue(depth.contains("65536        2048    1  local"), depth); // one subcluster
        assertTrue(depth.contains("2  backing depth 2"), depth);

        ExternalTool.assumeAvailable("qemu-nbd");
        Path qsock = dir.resolve("qemu.sock");
        Process q = new ProcessBuilder("qemu-nbd", "-r", "-t", "-A", "-k", qsock.toString(), "-f", "qcow2", "-x", "disk",
                top.toString()).redirectErrorStream(true).redirectOutput(dir.resolve("qemu-nbd.log").toFile()).start();
        try {
            for (int i = 0; i < 500 && !Files.exists(qsock); i++) {
                Thread.sleep(10);
            }
            assertEquals(observe("nbd+unix:///disk?socket=" + qsock), ours);
        } finally {
            q.destroy();
            q.waitFor();
        }
    }

    @Test
    void clientsWriteThroughJblkAndTheImageStaysClean() throws Exception {
        Path sock = dir.resolve("rw.sock");
        String uri = "nbd+unix:///disk?socket=" + sock;
        try (BlockDevice dev = BlockDrivers.open(top, "qcow2", OpenOptions.defaults());
             NbdServer s = NbdServer.builder().device(dev).exportName("disk").unixSocket(sock).build().start()) {
            String out = qemuIo("-f", "raw", uri, "-c", "write -P 0x44 1M 3k", "-c", "read -P 0x44 1M 3k",
                    "-c", "read -P 0x11 0 64k", "-c", "read -P 0x21 64k 2k", "-c", "write -z 3M 64k",
                    "-c", "read -P 0 3M 64k", "-c", "flush").ok().stdout();
            assertFalse(out.contains("Pattern verification failed"), out);
            tool("fio", "--name=nbd", "--ioengine=nbd", "--uri=" + uri, "--rw=randrw", "--bs=4k", "--size=2M",
                    "--offset=2M", "--iodepth=8", "--verify=crc32c", "--do_verify=1", "--verify_fatal=1",
                    "--verify_state_save=0", "--output-format=terse").ok();
            Path copy = dir.resolve("copy.raw");
            tool("nbdcopy", uri, copy.toString()).ok();
            qemuImg("compare", "-f", "raw", "-F", "raw", uri, copy.toString()).ok();
        }
        qemuImg("check", "-f", "qcow2", top.toString()).ok();
        String after = qemuIo("-f", "qcow2", "-c", "read -P 0x44 1M 3k", "-c", "read -P 0x21 64k 2k",
                top.toString()).ok().stdout();
        assertFalse(after.contains("Pattern verification failed"), after);
    }
}
