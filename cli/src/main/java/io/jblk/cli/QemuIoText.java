package io.jblk.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/** qemu-io's wording of numbers and reports, so scripts that grep qemu-io output work on jblk io. */
final class QemuIoText {
    private static final String[] SUFFIXES = {" bytes", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};

    private QemuIoText() {
    }

    /** qemu-io's cvtstr: three decimals, ".000" dropped ("64 KiB", "3.812 MiB", "40 bytes"). */
    static String cvtstr(double value) {
        int unit = 0;
        while (unit < SUFFIXES.length - 1 && value >= Math.pow(1024, unit + 1)) {
            unit++;
        }
        double scaled = value / Math.pow(1024, unit);
        // glibc rounds the exact binary value half-to-even; BigDecimal(double) is that exact value
        String digits = new BigDecimal(scaled).setScale(3, RoundingMode.HALF_EVEN).toPlainString();
        if (digits.endsWith(".000")) {
            digits = digits.substring(0, digits.length() - 4);
        }
        return digits + SUFFIXES[unit];
    }

    /** qemu-io's timestr for the report line: "00.00 sec", or "H:MM:SS.ss" from a minute on. */
    static String timestr(double seconds) {
        if (seconds < 60) {
            int whole = (int) seconds;
            int hundredths = (int) ((seconds - whole) * 100);
            return String.format(Locale.ROOT, "%02d.%02d sec", whole, hundredths);
        }
        long s = (long) seconds;
        return String.format(Locale.ROOT, "%d:%02d:%05.2f", s / 3600, (s / 60) % 60, seconds - (s / 60) * 60);
    }

    /** The two lines qemu-io prints after a read, write or discard. */
    static String report(String verb, long offset, long count, int ops, double seconds) {
        double t = Math.max(seconds, 1e-9);
        return String.format(Locale.ROOT, "%s %d/%d bytes at offset %d%n%s, %d ops; %s (%s/sec and %.4f ops/sec)",
                verb, count, count, offset, cvtstr(count), ops, timestr(seconds), cvtstr(count / t), ops / t);
    }
}
