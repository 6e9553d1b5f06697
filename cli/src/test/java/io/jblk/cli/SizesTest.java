package io.jblk.cli;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SizesTest {
    @Test
    void parsesQemuSuffixes() {
        assertEquals(512, Sizes.parse("512"));
        assertEquals(65536, Sizes.parse("64k"));
        assertEquals(65536, Sizes.parse("64K"));
        assertEquals(3L << 20, Sizes.parse("3M"));
        assertEquals(1L << 40, Sizes.parse("1T"));
        assertEquals(1536L << 20, Sizes.parse("1.5G"));
        assertEquals(0xab, Sizes.parse("0xab"));
    }

    /**
     * What qemu-img 7.2 made of each text as {@code qemu-img create -f raw x TEXT} (the size it printed, or -1 for
     * "Invalid image size specified", -2 for "Must be between 0 and 9223372036854775807").
     */
    @Test
    void agreesWithQemuImgOnEveryObservedText() {
        Map<String, Long> qemu = new LinkedHashMap<>();
        qemu.put("0", 0L);
        qemu.put("-1", -1L);
        qemu.put("-1M", -1L);
        qemu.put("-0", -1L);
        qemu.put("abc", -1L);
        qemu.put("1x", -1L);
        qemu.put("1.5", -1L);
        qemu.put("4096.5", -1L);
        qemu.put(".5k", -1L);
        qemu.put("1.5b", -1L);
        qemu.put("1.5k", 1536L);
        qemu.put("1.k", 1024L);
        qemu.put("1.0000000001k", 1024L);
        qemu.put("1.00048828125k", 1025L); // 1024.5 rounds up
        qemu.put("0x1000", 4096L);
        qemu.put("0X10", 16L);
        qemu.put("0x", -1L);
        qemu.put("0x-1", -1L);
        qemu.put("0x1.5", -1L);
        qemu.put("1e3", -1L);
        qemu.put("1.5e3k", -1L);
        qemu.put("16E", -2L);
        qemu.put("8E", -2L);
        qemu.put("8.0E", -2L);
        qemu.put("7E", 8070450532247928832L);
        qemu.put("1.5E", 1729382256910270464L);
        qemu.put("1e", 1152921504606846976L);
        qemu.put("9223372036854775807", Long.MAX_VALUE);
        qemu.put("9223372036854775808", -2L);
        qemu.put("99999999999999999999", -2L);
        qemu.put("1b", 1L);
        qemu.put("1B", 1L);
        qemu.put("1K", 1024L);
        qemu.put("1m", 1L << 20);
        qemu.put("1kB", -1L);
        qemu.put("1KiB", -1L);
        qemu.put(" 1M", 1L << 20);
        qemu.put("1 M", -1L);
        qemu.put("5 ", -1L);
        qemu.put("+5", 5L);
        qemu.put("00012", 12L);
        qemu.put("1,5k", -1L);
        qemu.put("1.5.5k", -1L);
        qemu.forEach((text, expected) -> {
            if (expected >= 0) {
                assertEquals(expected.longValue(), Sizes.parse(text), "'" + text + "'");
            } else {
                Sizes.InvalidSizeException e = assertThrows(Sizes.InvalidSizeException.class, () -> Sizes.parse(text),
                        "'" + text + "'");
                assertEquals(expected == -2L, e.tooLarge(), "'" + text + "': " + e.getMessage());
                assertTrue(e.getMessage().contains(text), e.getMessage());
            }
        });
    }

    /** qemu-img 7.2 takes "0x10k" with a deprecation warning; jblk refuses it, saying why. */
    @Test
    void hexWithSuffixIsRefusedSayingWhy() {
        Sizes.InvalidSizeException e = assertThrows(Sizes.InvalidSizeException.class, () -> Sizes.parse("0x10k"));
        assertTrue(e.getMessage().contains("hexadecimal"), e.getMessage());
    }

    /** The strings qemu-img 7.2 printed as "disk size" / "virtual size" for these byte counts. */
    @Test
    void formatsLikeQemu() {
        assertEquals("64 MiB", Sizes.human(67108864));
        assertEquals("1.12 MiB", Sizes.human(1179648));
        assertEquals("388 KiB", Sizes.human(397312));
        assertEquals("0.977 KiB", Sizes.human(1000));
        assertEquals("0 B", Sizes.human(0));
        assertEquals("512 B", Sizes.human(512));
    }
}
