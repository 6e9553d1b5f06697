package io.jblk.nbd;

import io.jblk.api.testing.ExternalTool;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * qemu-nbd serving an image on a Unix socket (persistent, export name "disk", qemu:allocation-depth offered), the
 * reference the server is compared with. Skips the calling test when qemu-nbd is not installed.
 */
final class QemuNbd implements AutoCloseable {
    final Process process;
    final Path sock;
    private final Path log;

    QemuNbd(Path image, String format, Path sock, String... extra) throws Exception {
        ExternalTool.assumeAvailable("qemu-nbd");
        this.sock = sock;
        this.log = sock.resolveSibling(sock.getFileName() + ".log");
        List<String> cmd = new ArrayList<>(List.of("qemu-nbd", "-t", "-A", "-k", sock.toString(), "-f", format,
                "-x", "disk"));
        cmd.addAll(List.of(extra));
        cmd.add(image.toString());
        process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        for (int i = 0; i < 500 && !Files.exists(sock); i++) {
            assertTrue(process.isAlive(), () -> "qemu-nbd died: " + log());
            Thread.sleep(10);
        }
        assertTrue(Files.exists(sock), "qemu-nbd did not create its socket");
    }

    String uri() {
        return "nbd+unix:///disk?socket=" + sock;
    }

    String log() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            return e.toString();
        }
    }

    @Override
    public void close() throws Exception {
        process.destroy();
        process.waitFor();
    }
}
