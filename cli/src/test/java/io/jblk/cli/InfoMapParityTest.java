package io.jblk.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** {@code jblk info} and {@code jblk map} next to {@code qemu-img info} and {@code qemu-img map} on the same images. */
class InfoMapParityTest {
    @TempDir
    Path dir;

    /** A raw image with every byte written, so its layout does not depend on hole detection. */
    private String fullRaw(String name, String size) throws Exception {
        String file = dir.resolve(name).toString();
        Cli.qemuImg("create", "-f", "raw", file, size).ok();
        Cli.qemuIo("-f", "raw", "-c", "write -P 0x5a 0 " + size, file).ok();
        return file;
    }

    private static boolean jblkSeesHoles(String file) {
        Map<?, ?> info = (Map<?, ?>) Cli.parse(Cli.jblk("info", "--output=json", "-f", "raw", file).expect(0).stdout());
        return !"filechannel".equals(info.get("io-engine"));
    }

    @Test
    void infoJsonHasQemuImgFieldsAndValues() throws Exception {
        String file = fullRaw("full.raw", "3M");
        Object qemu = Cli.parse(Cli.qemuImg("info", "--output=json", "-f", "raw", file).ok().stdout());
        Object jblk = Cli.parse(Cli.jblk("info", "--output=json", "-f", "raw", file).expect(0).stdout());
        Cli.assertSameFields(qemu, jblk, "info", "io-engine");
    }

    @Test
    void infoHumanMatchesQemuImgLineForLine() throws Exception {
        String file = fullRaw("human.raw", "1536k");
        String qemu = Cli.qemuImg("info", "-f", "raw", file).ok().stdout();
        String jblk = Cli.jblk("info", "-f", "raw", file).expect(0).stdout();
        assertTrue(jblk.startsWith(qemu), "qemu-img:\n" + qemu + "\njblk:\n" + jblk);
        assertTrue(jblk.substring(qemu.length()).startsWith("io engine: "), jblk);
    }

    @Test
    void mapJsonOfWrittenImageMatchesQemuImg() throws Exception {
        String file = fullRaw("map.raw", "2M");
        Object qemu = Cli.parse(Cli.qemuImg("map", "--output=json", "-f", "raw", file).ok().stdout());
        Object jblk = Cli.parse(Cli.jblk("map", "--output=json", "-f", "raw", file).expect(0).stdout());
        Cli.assertSameFields(qemu, jblk, "map");
        assertEquals(Cli.qemuImg("map", "-f", "raw", file).ok().stdout(), Cli.jblk("map", "-f", "raw", file).stdout());
    }

    @Test
    void mapJsonOfSparseImageMatchesQemuImg() throws Exception {
        String file = dir.resolve("sparse.raw").toString();
        Cli.qemuImg("create", "-f", "raw", file, "8M").ok();
        Cli.qemuIo("-f", "raw", "-c", "write -P 1 64k 64k", "-c", "write -P 2 4M 1M", "-c", "write -z 4M 128k", file).ok();
        assumeTrue(jblkSeesHoles(file), "the FileChannel engine cannot see holes; needs the native engine");
        Object qemu = Cli.parse(Cli.qemuImg("map", "--output=json", "-f", "raw", file).ok().stdout());
        Object jblk = Cli.parse(Cli.jblk("map", "--output=json", "-f", "raw", file).expect(0).stdout());
        Cli.assertSameFields(qemu, jblk, "map");
        Object qemuInfo = Cli.parse(Cli.qemuImg("info", "--output=json", "-f", "raw", file).ok().stdout());
        Object jblkInfo = Cli.parse(Cli.jblk("info", "--output=json", "-f", "raw", file).expect(0).stdout());
        Cli.assertSameFields(qemuInfo, jblkInfo, "info", "io-engine");
    }

    /**
     * A sparse 4 PiB qcow2 image (2 MiB clusters, data in its first and last sectors) is mapped in seconds, as by
     * qemu-img: the cost follows what the image holds. jblk asked block status 1 GiB at a time (4 million
     * questions) and its qcow2 driver looked at every cluster without an L2 table (minutes).
     */
    @Test
    void mapOfASparseHugeQcow2CostsWhatItHolds() throws Exception {
        long size = 1L << 52;
        String file = dir.resolve("huge.qcow2").toString();
        Cli.qemuImg("create", "-q", "-f", "qcow2", "-o", "cluster_size=2M", file, Long.toString(size)).ok();
        Cli.qemuIo("-f", "qcow2", "-c", "write -q -P 1 0 512", "-c", "write -q -P 2 " + (size - 512) + " 512", file)
                .ok();
        Cli.Result json = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(60),
                () -> Cli.jblk("map", "--output=json", file).expect(0));
        Cli.assertSameFields(Cli.parse(Cli.qemuImg("map", "--output=json", file).ok().stdout()), Cli.parse(json.stdout()),
                "map");
    }

    @Test
    void mapLimitsToTheRangeAsked() throws Exception {
        String file = fullRaw("range.raw", "1M");
        Object qemu = Cli.parse(Cli.qemuImg("map", "--output=json", "-f", "raw", "--start-offset=64k",
                "--max-length=128k", file).ok().stdout());
        Object jblk = Cli.parse(Cli.jblk("map", "--output=json", "-f", "raw", "--start-offset=64k",
                "--max-length=128k", file).expect(0).stdout());
        Cli.assertSameFields(qemu, jblk, "map");
    }

    /**
     * qemu-img map's "File" column names the file that holds the data: for an image with an external data file,
     * the data file (jblk named the .qcow2). The data file is given by absolute name: QEMU 7.2 looks relative names
     * up from its working directory, jblk from the image's folder.
     */
    @Test
    void humanMapNamesTheExternalDataFile() throws Exception {
        String image = dir.resolve("external.qcow2").toString();
        String data = dir.resolve("external.data").toString();
        Cli.qemuImg("create", "-f", "qcow2", "-o", "data_file=" + data + ",data_file_raw=on", image, "1M").ok();
        Cli.qemuIo("-f", "qcow2", "-c", "write -P 7 64k 64k", image).ok();
        String overlay = dir.resolve("over-external.qcow2").toString();
        Cli.qemuImg("create", "-f", "qcow2", "-b", image, "-F", "qcow2", overlay).ok();
        Cli.qemuIo("-f", "qcow2", "-c", "write -P 8 256k 64k", overlay).ok();
        for (String file : new String[] {image, overlay}) {
            String qemu = Cli.qemuImg("map", "-f", "qcow2", file).ok().stdout();
            assertTrue(qemu.contains(data), "qemu-img names the data file:\n" + qemu);
            assertEquals(qemu, Cli.jblk("map", "-f", "qcow2", file).expect(0).stdout());
        }
    }

    @Test
    void missingFileIsOneLineNamingIt() {
        Cli.Result r = Cli.jblk("info", dir.resolve("nope.qcow2").toString()).expect(1);
        assertEquals(1, r.stderr().lines().count(), r.stderr());
        assertTrue(r.stderr().startsWith("jblk: ") && r.stderr().contains("nope.qcow2"), r.stderr());
    }

    @Test
    void pictureMarksWrittenCells() throws Exception {
        String file = dir.resolve("pic.raw").toString();
        Cli.jblk("create", "-f", "raw", file, "64k").expect(0);
        Cli.Result r = Cli.jblk("map", "--picture", "-", "-f", "raw", file).expect(0);
        String line = r.stdout().lines().skip(1).findFirst().orElseThrow();
        assertTrue(line.endsWith("0".repeat(16)) || line.endsWith("#".repeat(16)), line);
        Path svg = dir.resolve("pic.svg");
        Cli.jblk("map", "--picture", svg.toString(), "-f", "raw", file).expect(0);
        assertTrue(java.nio.file.Files.readString(svg).contains("<svg"));
    }
}
