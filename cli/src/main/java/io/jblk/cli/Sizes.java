package io.jblk.cli;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;

/** Sizes the way qemu-img reads and prints them: binary suffixes k/M/G/T/P/E, "64 MiB", "1.12 MiB". */
final class Sizes {
    private static final String SUFFIXES = "KMGTPE";
    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    private static final BigInteger MAX = BigInteger.valueOf(Long.MAX_VALUE);

    /** A text that is not a size; {@link #tooLarge()} when it is a well-formed number beyond 2^63-1. */
    static final class InvalidSizeException extends IllegalArgumentException {
        private final String text;
        private final boolean tooLarge;

        InvalidSizeException(String text, boolean tooLarge, String message) {
            super(message);
            this.text = text;
            this.tooLarge = tooLarge;
        }

        String text() {
            return text;
        }

        boolean tooLarge() {
            return tooLarge;
        }
    }

    private Sizes() {
    }

    /**
     * Parses a size with qemu's rules (observed on qemu-img 7.2): leading blanks and one '+' are allowed; decimal
     * digits, or {@code 0x} and hex digits (no fraction, no suffix); an optional fraction ({@code 1.5k},
     * {@code 1.k}) only when a suffix k/M/G/T/P/E scales it (rounded to the nearest byte, half up); one optional
     * suffix, {@code b}/{@code B} meaning bytes; nothing after it. A minus sign anywhere is refused.
     *
     * @throws InvalidSizeException naming the text; {@code tooLarge()} for values above 2^63-1
     */
    static long parse(String text) {
        int i = 0;
        int n = text.length();
        while (i < n && Character.isWhitespace(text.charAt(i))) {
            i++;
        }
        if (i < n && text.charAt(i) == '+') {
            i++;
        }
        int digits = i;
        while (i < n && isDigit(text.charAt(i))) {
            i++;
        }
        if (i == digits) {
            throw invalid(text);
        }
        String whole = text.substring(digits, i);
        if (whole.equals("0") && i < n && (text.charAt(i) == 'x' || text.charAt(i) == 'X')) {
            return parseHex(text, i + 1);
        }
        String fraction = "";
        if (i < n && text.charAt(i) == '.') {
            int from = ++i;
            while (i < n && isDigit(text.charAt(i))) {
                i++;
            }
            fraction = text.substring(from, i);
        }
        int shift = 0;
        if (i < n) {
            char c = Character.toUpperCase(text.charAt(i));
            if (c == 'B') {
                i++;
            } else if (SUFFIXES.indexOf(c) >= 0) {
                shift = 10 * (SUFFIXES.indexOf(c) + 1);
                i++;
            }
        }
        if (i != n) {
            throw invalid(text);
        }
        BigDecimal value = new BigDecimal(whole + (fraction.isEmpty() ? "" : "." + fraction));
        if (shift == 0 && value.stripTrailingZeros().scale() > 0) {
            // qemu refuses a fraction of a byte rather than rounding it
            throw new InvalidSizeException(text, false, "invalid size '" + text
                    + "': a fraction needs a k, M, G, T, P or E suffix");
        }
        BigInteger bytes = value.multiply(new BigDecimal(BigInteger.ONE.shiftLeft(shift)))
                .setScale(0, RoundingMode.HALF_UP).toBigIntegerExact();
        if (bytes.compareTo(MAX) > 0) {
            throw tooLarge(text);
        }
        return bytes.longValueExact();
    }

    private static long parseHex(String text, int from) {
        int i = from;
        while (i < text.length() && Character.digit(text.charAt(i), 16) >= 0) {
            i++;
        }
        if (i == from) {
            throw invalid(text);
        }
        if (i != text.length()) {
            // qemu 7.2 still takes "0x10k" with a deprecation warning; jblk does not take it at all
            throw new InvalidSizeException(text, false, "invalid size '" + text
                    + "': a hexadecimal size takes no fraction and no suffix");
        }
        BigInteger value = new BigInteger(text.substring(from, i), 16);
        if (value.compareTo(MAX) > 0) {
            throw tooLarge(text);
        }
        return value.longValueExact();
    }

    private static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    private static InvalidSizeException invalid(String text) {
        return new InvalidSizeException(text, false, "invalid size '" + text
                + "' (expected a number with an optional k, M, G, T, P or E suffix)");
    }

    private static InvalidSizeException tooLarge(String text) {
        return new InvalidSizeException(text, true, "size '" + text + "' is too large (at most "
                + Long.MAX_VALUE + ")");
    }

    /**
     * {@link #parse} for a command-line value, failing with qemu-img's wording plus the text:
     * "Invalid {@code what} specified: 'abc'. You may use k, M, G, T, P or E suffixes" or "... Must be between 0 and
     * 9223372036854775807".
     */
    static long parseArgument(String what, String text) {
        try {
            return parse(text);
        } catch (InvalidSizeException e) {
            throw new CliException("Invalid " + what + " specified: '" + text + "'. " + (e.tooLarge()
                    ? "Must be between 0 and " + Long.MAX_VALUE + "."
                    : "You may use k, M, G, T, P or E suffixes for kilobytes, megabytes, gigabytes, terabytes, "
                    + "petabytes and exabytes."));
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
        String digits = new BigDecimal(value).round(new java.math.MathContext(3, RoundingMode.HALF_EVEN))
                .stripTrailingZeros().toPlainString();
        return digits + " " + UNITS[unit];
    }
}
