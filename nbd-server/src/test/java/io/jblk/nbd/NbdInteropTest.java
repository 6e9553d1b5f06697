package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.Extent;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static io.jblk.api.testing.ExternalTool.qemuImg;
import static io.jblk.api.testing.ExternalTool.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Real NBD clients (nbdinfo, qemu-io, qemu-img, nbdcopy, fio) against the server on a raw image. */
@Timeout(120)
class NbdInteropTest {
    static final String SIZE = "64M";

    @TempDir
    Path dir;
    Path image;
    Path socket;
    BlockDevice device;
    NbdServer server;

    @BeforeEach
    void start() throws Exception {
        image = dir.resolve("disk.raw");
        qemuImg("create", "-f", "raw", image.toString(), SIZE).ok();
        qemuIo("-f", "raw", "-c", "write -P 0xaa 0 64k", "-c", "write -P 0xbb 1M 128k",
                "-c", "write -P 0xcc 10M 4k", image.toString()).ok();
        device = BlockDrivers.open(image, "raw", OpenOptions.defaults());
        socket = dir.resolve("nbd.sock");
        server = NbdServer.builder().device(device).exportName("disk").unixSocket(socket).build().start();
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
        device.close();
    }

    String uri(Path sock) {
        return "nbd+unix:///disk?socket=" + sock;
    }

    static ExternalTool.Result tool(String... command) throws Exception {
        ExternalTool.assumeAvailable(command[0]);
        return ExternalTool.run(command);
    }

    /** qemu-nbd serving a copy of the same image, for side-by-side comparison. */
    QemuNbd qemuNbdOnCopy() throws Exception {
        ExternalTool.assumeAvailable("qemu-nbd");
        Path copy = dir.resolve("copy.raw");
        Files.copy(image, copy);
        return new QemuNbd(copy, "raw", dir.resolve("qemu.sock"));
    }

    static final Pattern JSON_FIELD = Pattern.compile("\"([a-z_-]+)\": ([^,\\[\\n]+)");

    /** The scalar fields of nbdinfo's JSON for the first export (nbdinfo prints one field per line). */
    static Map<String, String> fields(String json) {
        Map<String, String> out = new LinkedHashMap<>();
        Matcher m = JSON_FIELD.matcher(json);
        while (m.find()) {
            out.put(m.group(1), m.group(2).trim());
        }
        int ctx = json.indexOf("\"contexts\"");
        if (ctx >= 0) {
            out.put("contexts", json.substring(json.indexOf('[', ctx), json.indexOf(']', ctx) + 1)
                    .replaceAll("\\s+", ""));
        }
        out.remove("content"); // what file(1) guesses from the first sector
        out.remove("uri");
        return out;
    }

    @Test
    void nbdinfoShowsWhatQemuNbdShows() throws Exception {
        String ours = tool("nbdinfo", "--json", uri(socket)).ok().stdout();
        Map<String, String> f = fields(ours);
        assertEquals("67108864", f.get("export-size"));
        assertEquals("[\"base:allocation\",\"qemu:allocation-depth\"]", f.get("contexts"));
        assertEquals("true", f.get("can_multi_conn"), "16 connections share one device");
        try (QemuNbd ref = qemuNbdOnCopy()) {
            Map<String, String> theirs = fields(tool("nbdinfo", "--json", uri(ref.sock)).ok().stdout());
            theirs.remove("can_multi_conn"); // qemu-nbd advertises it only for shared read-only exports
            f.remove("can_multi_conn");
            assertEquals(theirs, f);
            String depth = "--map=qemu:allocation-depth";
            assertEquals(tool("nbdinfo", depth, uri(ref.sock)).ok().stdout(), tool("nbdinfo", depth, uri(socket))
                    .ok().stdout());
        }
        // base:allocation as nbdinfo sees it must be exactly what the driver reports, translated.
        List<String> expected = new ArrayList<>();
        for (Extent e : device.blockStatus(0, device.size()).join()) {
            expected.add(e.offset() + " " + e.length() + " " + MetaContext.BASE_ALLOCATION.value(e));
        }
        List<String> seen = tool("nbdinfo", "--map", uri(socket)).ok().stdout().lines()
                .map(l -> l.trim().split("\\s+")).map(p -> p[0] + " " + p[1] + " " + p[2]).toList();
        assertEquals(expected, seen);
        String list = tool("nbdinfo", "--list", "--json", "nbd+unix:///?socket=" + socket).ok().stdout();
        assertTrue(list.contains("\"export-name\": \"disk\""), list);
    }

    /**
     * Clients that connect while every {@code --shared} slot is taken wait in the listen backlog; it is as deep as
     * qemu-nbd's (4096, capped by the kernel's somaxconn) so that bursts of clients are not refused. For a listening
     * socket, {@code ss} shows the backlog in the Send-Q column.
     */
    @Test
    void listenBacklogIsQemuNbds() throws Exception {
        ExternalTool.assumeAvailable("ss");
        try (QemuNbd ref = qemuNbdOnCopy()) {
            assertEquals(listenBacklog(ref.sock), listenBacklog(socket));
        }
    }

    static long listenBacklog(Path sock) throws Exception {
        for (String line : tool("ss", "-lxn").ok().stdout().lines().toList()) {
            String[] f = line.trim().split("\\s+");
            // jblk binds under a temporary name beside the socket and renames it; ss shows the name bound.
            String temporary = sock.resolveSibling("." + sock.getFileName() + ".").toString();
            if (f.length > 4 && (f[4].equals(sock.toString()) || f[4].startsWith(temporary))) {
                return Long.parseLong(f[3]);
            }
        }
        throw new AssertionError("no listening socket " + sock + " in ss -lxn");
    }

    @Test
    void qemuIoWritesAndReadsPatterns() throws Exception {
        String out = qemuIo("-f", "raw", uri(socket), "-c", "write -P 0xab 0 64k", "-c", "read -P 0xab 0 64k",
                "-c", "read -P 0xbb 1M 128k", "-c", "read -P 0 2M 1M", "-c", "write -z 1M 4k",
                "-c", "read -P 0 1M 4k", "-c", "discard 10M 4k", "-c", "flush").ok().stdout();
        assertFalse(out.contains("Pattern verification failed"), out);
        assertFalse(out.contains("error"), out);
        server.close();
        server = null;
        device.close();
        // The writes went to the image itself.
        String direct = qemuIo("-f", "raw", "-c", "read -P 0xab 0 64k", "-c", "read -P 0 1M 4k",
                "-c", "read -P 0xbb 1028k 124k", image.toString()).ok().stdout();
        assertFalse(direct.contains("Pattern verification failed"), direct);
        assertEquals(3, direct.lines().filter(l -> l.startsWith("read ")).count(), direct);
        device = BlockDrivers.open(image, "raw", OpenOptions.defaults());
    }

    @Test
    void qemuImgConvertAndCompareThroughNbd() throws Exception {
        Path out = dir.resolve("out.raw");
        qemuImg("convert", "-f", "raw", "-O", "raw", uri(socket), out.toString()).ok();
        qemuImg("compare", "-f", "raw", "-F", "raw", uri(socket), out.toString()).ok();
        qemuIo("-f", "raw", "-c", "read -P 0xbb 1M 128k", "-c", "read -P 0xcc 10M 4k", out.toString()).ok();
        // And into the export: a different image written over NBD, then compared through NBD.
        Path src = dir.resolve("src.raw");
        qemuImg("create", "-f", "raw", src.toString(), SIZE).ok();
        qemuIo("-f", "raw", "-c", "write -P 0x11 5M 3M", src.toString()).ok();
        qemuImg("convert", "-n", "-f", "raw", "-O", "raw", src.toString(), uri(socket)).ok();
        qemuImg("compare", "-f", "raw", "-F", "raw", src.toString(), uri(socket)).ok();
        ExternalTool.Result differs = qemuImg("compare", "-f", "raw", "-F", "raw", out.toString(), uri(socket));
        assertEquals(1, differs.exitCode(), differs.stdout());
    }

    @Test
    void nbdcopyBothDirections() throws Exception {
        Path out = dir.resolve("copied.raw");
        tool("nbdcopy", uri(socket), out.toString()).ok();
        qemuImg("compare", "-f", "raw", "-F", "raw", uri(socket), out.toString()).ok();
        qemuIo("-f", "raw", "-c", "read -P 0xaa 0 64k", "-c", "read -P 0xbb 1M 128k", out.toString()).ok();
        Path src = dir.resolve("src.raw");
        qemuImg("create", "-f", "raw", src.toString(), SIZE).ok();
        qemuIo("-f", "raw", "-c", "write -P 0x22 7M 5M", "-c", "write -P 0x33 40M 1M", src.toString()).ok();
        tool("nbdcopy", src.toString(), uri(socket)).ok();
        qemuImg("compare", "-f", "raw", "-F", "raw", src.toString(), uri(socket)).ok();
    }

    @Test
    void fioRandomWritesVerify() throws Exception {
        ExternalTool.Result r = tool("fio", "--name=nbd", "--ioengine=nbd", "--uri=" + uri(socket),
                "--rw=randwrite", "--bs=4k", "--size=16M", "--iodepth=16", "--verify=crc32c", "--do_verify=1",
                "--verify_fatal=1", "--verify_state_save=0", "--output-format=terse");
        r.ok();
        assertFalse(r.stderr().contains("verify:"), r.stderr());
    }

    @Test
    void tcpLoopbackServesQemuIo() throws Exception {
        try (NbdServer tcp = NbdServer.builder().device(device).exportName("disk").tcp("127.0.0.1", 0).build()
                .start()) {
            int port = ((InetSocketAddress) tcp.address()).getPort();
            assertNotEquals(0, port);
            String nbd = "nbd://127.0.0.1:" + port + "/disk";
            String out = qemuIo("-f", "raw", nbd, "-c", "write -P 0x5c 8M 256k", "-c", "read -P 0x5c 8M 256k",
                    "-c", "read -P 0xaa 0 64k").ok().stdout();
            assertFalse(out.contains("Pattern verification failed"), out);
            assertTrue(tool("nbdinfo", "--json", nbd).ok().stdout().contains("\"export-size\": 67108864"));
        }
    }

    @Test
    void readOnlyExportRefusesClientWrites() throws Exception {
        Path ro = dir.resolve("ro.sock");
        try (NbdServer s = NbdServer.builder().device(device).exportName("disk").readOnly(true).unixSocket(ro)
                .build().start()) {
            assertEquals("true", fields(tool("nbdinfo", "--json", uri(ro)).ok().stdout()).get("is_read_only"));
            // qemu refuses to open a read-only export for writing: the READ_ONLY flag reached it.
            ExternalTool.Result w = qemuIo("-f", "raw", uri(ro), "-c", "write -P 1 0 4k");
            assertNotEquals(0, w.exitCode());
            assertTrue((w.stdout() + w.stderr()).contains("Permission denied"), w.stdout() + w.stderr());
            qemuIo("-f", "raw", "-r", uri(ro), "-c", "read -P 0xaa 0 64k").ok();
        }
    }
}
