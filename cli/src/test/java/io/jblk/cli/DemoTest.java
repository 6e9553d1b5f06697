package io.jblk.cli;

import io.jblk.api.BlockDrivers;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code jblk demo} runs end to end on a small backing file, with or without the qcow2 driver. */
class DemoTest {
    @TempDir
    Path dir;

    @Test
    void demoPrintsATableRowPerImageAndKeepsImagesWhenAsked() throws Exception {
        Cli.Result r = Cli.jblk("demo", "--size", "8M", "--writes", "300", "--no-qemu", "--dir", dir.toString(),
                "--keep").expect(0);
        String out = r.stdout();
        String rawRow = out.lines().filter(l -> l.startsWith("raw, no backing")).findFirst().orElseThrow(
                () -> new AssertionError("no raw row in\n" + out));
        assertTrue(rawRow.matches("raw, no backing\\s+300\\s+[0-9.]+ s\\s+[0-9]+\\s+.*"), rawRow);
        assertTrue(rawRow.endsWith("#") || rawRow.endsWith("0") || rawRow.endsWith("-"), rawRow);
        assertEquals(8L << 20, Files.size(dir.resolve("backing.raw")));
        Cli.qemuImg("compare", "-f", "raw", "-F", "raw", dir.resolve("backing.raw").toString(),
                dir.resolve("plain.raw").toString()).expect(1);
        if (BlockDrivers.byName("qcow2").isPresent()) {
            assertTrue(out.contains("qcow2 128k, extended_l2=off") && out.contains("qcow2 128k, extended_l2=on"), out);
            for (String name : new String[]{"overlay-128k-l2off.qcow2", "overlay-128k-l2on.qcow2"}) {
                Cli.qemuImg("check", dir.resolve(name).toString()).ok();
            }
        } else {
            assertTrue(out.contains("the qcow2 driver is not installed"), out);
        }
    }

    @Test
    void seedTableRunsEveryClusterSizeAsked() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(BlockDrivers.byName("qcow2").isPresent(), "needs the qcow2 driver");
        String out = Cli.jblk("seed-table", "--size", "8M", "--writes", "100", "--cluster-sizes", "16k,2M",
                "--dir", dir.toString()).expect(0).stdout();
        for (String label : new String[]{"qcow2 16k, extended_l2=off", "qcow2 16k, extended_l2=on",
                "qcow2 2M, extended_l2=off", "qcow2 2M, extended_l2=on"}) {
            assertTrue(out.lines().filter(l -> l.startsWith(label)).count() >= 1, label + " missing in\n" + out);
        }
    }
}
