package io.jblk.nativeio;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The last fallback: a JVM that denies native access still opens files, through FileChannel, and says why; the
 * socket and eventfd classes refuse with the same reason.
 */
class NoNativeAccessTest {
    @TempDir
    Path dir;

    @Test
    void autoUsesFileChannelAndNamesTheMissingGrant() throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = List.of(java, "--illegal-native-access=deny", "-cp", System.getProperty("java.class.path"),
                NoNativeAccessProbe.class.getName(), dir.resolve("f").toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "probe JVM did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.contains("engine=filechannel"), out);
        assertTrue(out.contains("--enable-native-access=ALL-UNNAMED"), out);
        assertTrue(out.contains("threads=refused"), out);
        // the descriptor-passing classes are fenced the same way: a typed refusal naming the grant, no crash
        assertTrue(out.contains("eventfd=refused native access is not enabled"), out);
        assertTrue(out.contains("listener=refused native access is not enabled"), out);
        assertTrue(new File(dir.resolve("f").toString()).exists());
    }
}
