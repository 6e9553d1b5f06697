package io.jblk.cli;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The allocation picture also draws the image file itself: qcow2 metadata, data clusters, free clusters. */
class HostPictureTest {
    @TempDir
    Path dir;

    @Test
    void qcow2PictureShowsMetadataClustersOfTheHostFile() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        Path image = dir.resolve("h.qcow2");
        Cli.qemuImg("create", "-f", "qcow2", "-o", "cluster_size=64k,extended_l2=on", image.toString(), "16M").ok();
        // Cluster 4 becomes the L2 table, 5 and 6 data; a whole-cluster discard then frees 6 (a hole in the file).
        Cli.qemuIo("-c", "write -P 1 0 4k", "-c", "write -P 2 1M 64k", "-c", "discard 1M 64k", image.toString()).ok();
        String text = Cli.jblk("map", "--picture", "-", image.toString()).expect(0).stdout();
        String host = text.lines().dropWhile(l -> !l.startsWith("host file")).skip(1).findFirst().orElseThrow();
        // header, refcount table, refcount block, L1 table, L2 table; data; freed cluster
        assertEquals("0x0 MMMMM#-", host.trim().replaceAll("\\s+", " "), text);
        Path svg = dir.resolve("h.svg");
        Cli.jblk("map", "--picture", svg.toString(), image.toString()).expect(0);
        String drawing = Files.readString(svg);
        assertTrue(drawing.contains("host file") && drawing.contains("#1f77b4"), "host band with metadata colour");
    }

    @Test
    void rawImagesHaveNoHostBand() throws Exception {
        Path image = dir.resolve("r.raw");
        Cli.jblk("create", "-f", "raw", image.toString(), "1M").expect(0);
        String text = Cli.jblk("map", "--picture", "-", image.toString()).expect(0).stdout();
        assertTrue(text.lines().noneMatch(l -> l.startsWith("host file")), text);
    }
}
