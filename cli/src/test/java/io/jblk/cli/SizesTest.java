package io.jblk.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    @Test
    void rejectsGarbageNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Sizes.parse("12Q"));
        assertEquals(true, e.getMessage().contains("12Q"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("16E"));
        assertThrows(IllegalArgumentException.class, () -> Sizes.parse("-1"));
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
