package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every transmission command × every command flag × lengths 0, 512 and (without payload) over the maximum block size
 * × offsets inside, at and past the end, sent by libnbd (nbdsh, its own checks off) to qemu-nbd and to jblk: the
 * answers (success or the errno) must be the same, except where docs/nbd.md says jblk differs on purpose.
 */
@Timeout(300)
class NbdCommandMatrixTest {
    @TempDir
    Path dir;

    /**
     * The deliberate difference: a well-formed write that would store bytes past the end gets ENOSPC (the
     * protocol's SHOULD), where qemu-nbd 7.2 answers EINVAL.
     */
    static String expectedFromJblk(String request, String qemuAnswer) {
        String[] words = request.split(" "); // COMMAND FLAG offset=N length=N
        boolean wellFormedWrite = switch (words[0]) {
            case "WRITE" -> words[1].equals("none") || words[1].equals("FUA");
            case "WRITE_ZEROES" -> !words[1].equals("DF") && !words[1].equals("REQ_ONE");
            default -> false;
        };
        long offset = Long.parseUnsignedLong(words[2].substring("offset=".length()));
        long length = Long.parseLong(words[3].substring("length=".length()));
        boolean pastEnd = Long.compareUnsigned(offset, SIZE) > 0 || length > SIZE - offset;
        return wellFormedWrite && length > 0 && pastEnd && qemuAnswer.equals("errno=EINVAL") ? "errno=ENOSPC"
                : qemuAnswer;
    }

    /** Larger than the 32 MiB maximum block size, so that oversize requests can lie inside the export. */
    static final long SIZE = 64 << 20;

    @Test
    void everyCommandFlagAndLengthIsAnsweredAsQemuNbdAnswersIt() throws Exception {
        ExternalTool.assumeAvailable("qemu-nbd", "nbdsh");
        Path ours = dir.resolve("jblk.raw");
        Path theirs = dir.resolve("qemu.raw");
        BlockDrivers.create(ours, "raw", CreateOptions.builder(SIZE).build());
        BlockDrivers.create(theirs, "raw", CreateOptions.builder(SIZE).build());
        Map<String, String> qemu;
        try (QemuNbd ref = new QemuNbd(theirs, "raw", dir.resolve("qemu.sock"), "--discard=unmap")) {
            qemu = matrix(ref.uri());
        }
        Map<String, String> jblk;
        try (BlockDevice device = BlockDrivers.open(ours, "raw", OpenOptions.defaults());
             NbdServer server = NbdServer.builder().device(device).exportName("disk")
                     .unixSocket(dir.resolve("jblk.sock")).build().start()) {
            jblk = matrix("nbd+unix:///disk?socket=" + dir.resolve("jblk.sock"));
        }
        assertEquals(qemu.keySet(), jblk.keySet(), "the same requests were answered");
        assertTrue(qemu.size() > 500, "the matrix ran: " + qemu.size() + " requests");
        List<String> differences = new ArrayList<>();
        qemu.forEach((request, answer) -> {
            String want = expectedFromJblk(request, answer);
            if (!want.equals(jblk.get(request))) {
                differences.add(request + ": qemu-nbd " + answer + ", jblk " + jblk.get(request)
                        + (want.equals(answer) ? "" : " (expected " + want + ")"));
            }
        });
        assertEquals(List.of(), differences, "answers that differ from qemu-nbd's");
    }

    /** Runs the command matrix script through nbdsh against {@code uri}: request -> answer. */
    private Map<String, String> matrix(String uri) throws Exception {
        Path script = Path.of(getClass().getResource("command-matrix.py").toURI());
        // nbdsh runs whatever python3 comes first on the PATH; libnbd's module belongs to the system's.
        ProcessBuilder pb = new ProcessBuilder("nbdsh", "--base-allocation", "-u", uri, "-c",
                "exec(open('" + script + "').read())").redirectErrorStream(true);
        pb.environment().put("PATH", "/usr/bin:/bin:" + System.getenv().getOrDefault("PATH", ""));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "nbdsh finished");
        assertEquals(0, p.exitValue(), "nbdsh against " + uri + ":\n" + out);
        Map<String, String> answers = new LinkedHashMap<>();
        for (String line : out.lines().toList()) {
            int arrow = line.indexOf(" -> ");
            if (arrow > 0) {
                answers.put(line.substring(0, arrow), line.substring(arrow + 4));
            }
        }
        Files.writeString(dir.resolve("matrix-" + answers.size() + ".txt"), out);
        return answers;
    }
}
