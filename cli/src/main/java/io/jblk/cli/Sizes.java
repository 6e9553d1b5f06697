package io.jblk.cli;

import java.util.Locale;

/** Sizes the way qemu-img reads and prints them: binary suffixes k/M/G/T/P/E, "64 MiB", "1.12 MiB". */
final class Sizes {
    private static final String SUFFIXES = "KMGTPE";
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

    private Sizes() {
    }

    /** Parses {@code 512}, {@code 64k}, {@code 1.5G}, {@code 10b} (bytes); fails naming the text. */
    static long parse(String text) {
        String t = text.trim();
        if (t.isEmpty()) {
            throw new IllegalArgumentException("invalid size ''");
        }
        if (t.startsWith("0x") || t.startsWith("0X")) {
            try {
                return Long.parseLong(t.substring(2), 16);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid size '" + text + "'");
            }
        }
        char last = Character.toUpperCase(t.charAt(t.length() - 1));
        int shift = 0;
        String number = t;
        if (last == 'B') {
            number = t.substring(0, t.length() - 1);
        } else if (SUFFIXES.indexOf(last) >= 0) {
            shift = 10 * (SUFFIXES.indexOf(last) + 1);
            number = t.substring(0, t.length() - 1);
        }
        try {
            if (number.contains(".")) {
                double value = Double.parseDouble(number) * Math.pow(2, shift);
                if (value < 0 || value >= 0x1p63) {
                    throw new IllegalArgumentException("size '" + text + "' out of range");
                }
                return (long) value;
            }
            long value = Long.parseLong(number);
            if (value < 0 || (shift > 0 && Long.numberOfLeadingZeros(value) <= shift)) {
                throw new IllegalArgumentException("size '" + text + "' out of range");
            }
            return value << shift;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("invalid size '" + text + "' (expected a number with an optional "
                    + "k, M, G, T, P or E suffix)");
        }
    }

    /** qemu's size_to_str: three significant digits and a binary unit ("1.12 MiB", "64 MiB", "0.977 KiB"). */
    static String human(long bytes) {
        if (bytes == 0) {
            return "0 B";
        }
        // switch to the next unit once the number reaches 1000, as qemu does
        int exponent = Math.getExponent(bytes / (1000.0 / 1024.0)) + 1;
        int unit = Math.min((exponent - 1) / 10, UNITS.length - 1);
        double value = bytes / Math.pow(2, 10.0 * unit);
        String digits = new java.math.BigDecimal(value).round(new java.math.MathContext(3, java.math.RoundingMode.HALF_EVEN))
                .stripTrailingZeros().toPlainString();
        return digits + " " + UNITS[unit];
    }
}
