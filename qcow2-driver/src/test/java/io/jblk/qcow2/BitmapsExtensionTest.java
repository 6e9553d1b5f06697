package io.jblk.qcow2;

import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static io.jblk.qcow2.Qcow2Images.qemuImgOk;
import static io.jblk.qcow2.Qcow2Images.qemuIo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Persistent dirty bitmaps added by {@code qemu-img bitmap}: jblk does not track them, so (as the qcow2 spec
 * requires of such programs) it clears the "bitmaps" autoclear bit before it writes and leaves the extension
 * alone; QEMU then knows the bitmaps are stale.
 */
class BitmapsExtensionTest {
    @TempDir
    Path dir;

    static long autoclear(Path img) throws Exception {
        byte[] h = Arrays.copyOf(Files.readAllBytes(img), 96);
        return ByteBuffer.wrap(h).getLong(88);
    }

    @Test
    void firstWriteClearsTheBitmapsAutoclearBitAndQemuSeesStaleBitmaps() throws Exception {
        ExternalTool.assumeAvailable("qemu-img", "qemu-io");
        Path img = dir.resolve("bm.qcow2");
        qemuImgOk("create", "-q", "-f", "qcow2", "-o", "extended_l2=on", img.toString(), "4M");
        qemuIo(img, "write -q -P 1 0 128k");
        qemuImgOk("bitmap", "--add", img.toString(), "b0");
        qemuImgOk("bitmap", "--add", "--granularity", "128k", img.toString(), "b1");
        assertEquals(1, autoclear(img));

        // A read-only open leaves the bit (and QEMU's bitmaps) alone. (A read-write open may clear it before any
        // write: the spec only requires it to be clear before the image is modified, and QEMU itself clears
        // unknown autoclear bits when it opens an image read-write.)
        try (Qcow2Device d = Qcow2Images.openReadOnly(img)) {
            Qcow2Images.read(d, 0, 4096);
        }
        assertEquals(1, autoclear(img), "autoclear after a read-only open");
        assertTrue(Qcow2Images.qemuImgOk("info", img.toString()).stdout().contains("b1"));

        try (Qcow2Device d = Qcow2Images.open(img)) {
            Qcow2Images.write(d, 64 << 10, Qcow2Images.pattern(4096, 0x22));
        }
        assertEquals(0, autoclear(img), "autoclear after a write");
        String info = qemuImgOk("info", img.toString()).stdout();
        assertFalse(info.contains("b1"), "QEMU must no longer trust the bitmaps:\n" + info);
        // The bitmap directory and tables are still referenced by refcounts but by nothing QEMU trusts: leaks only.
        ExternalTool.Result check = ExternalTool.qemuImg("check", img.toString());
        assertTrue(check.exitCode() == 0 || check.exitCode() == 3, check.stdout() + check.stderr());
        assertTrue(check.stderr().contains("lacking bitmap support"), check.stderr());
        qemuImgOk("check", "-r", "leaks", img.toString());
        Qcow2Images.assertQemuCheckClean(img);
        byte[] expected = new byte[4 << 20];
        Arrays.fill(expected, 0, 128 << 10, (byte) 1);
        Arrays.fill(expected, 64 << 10, (64 << 10) + 4096, (byte) 0x22);
        Qcow2Images.assertSameAsRaw(img, expected, dir);
    }
}
