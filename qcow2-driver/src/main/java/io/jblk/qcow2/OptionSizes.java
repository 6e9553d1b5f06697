package io.jblk.qcow2;

import io.jblk.api.InvalidOptionException;

import java.util.Locale;

/** Size-valued options ({@code cluster_size=64k}, {@code l2-cache-size=2M}): qemu-img's suffixes, one parser. */
public final class OptionSizes {
    private OptionSizes() {
    }

    /** Bytes for {@code value}: a number with an optional b/k/M/G/T suffix (powers of 1024). */
    public static long parse(String name, String value) throws InvalidOptionException {
        try {
            String s = value.trim().toLowerCase(Locale.ROOT);
            int suffix = "bkmgt".indexOf(s.charAt(s.length() - 1));
            long unit = suffix <= 0 ? 1 : 1L << (10 * suffix);
            if (suffix >= 0) {
                s = s.substring(0, s.length() - 1);
            }
            return Math.multiplyExact(Long.parseLong(s), unit);
        } catch (RuntimeException e) {
            throw new InvalidOptionException("Parameter '" + name + "' expects a size, got '" + value + "'");
        }
    }

    /** Like {@link #parse}, or {@code fallback} when the option was not given. */
    public static long parse(String name, String value, long fallback) throws InvalidOptionException {
        return value == null ? fallback : parse(name, value);
    }
}
