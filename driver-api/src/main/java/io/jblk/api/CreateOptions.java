package io.jblk.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How to create an image, with {@code qemu-img create}'s vocabulary.
 *
 * @param size          virtual size in bytes
 * @param backingFile   backing file name as it will be stored (relative names resolve against the image's
 *                      folder), or null
 * @param backingFormat backing format name, or null to probe it on open
 * @param formatOptions the {@code -o name=value} options other than size and backing (e.g. {@code cluster_size},
 *                      {@code extended_l2}), in the order given
 */
public record CreateOptions(long size, String backingFile, String backingFormat, Map<String, String> formatOptions) {

    public CreateOptions {
        if (size < 0) {
            throw new IllegalArgumentException("image size must not be negative, got " + size);
        }
        formatOptions = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(
                formatOptions == null ? Map.of() : formatOptions));
    }

    public static Builder builder(long size) {
        return new Builder(size);
    }

    public String formatOption(String name, String fallback) {
        return formatOptions.getOrDefault(name, fallback);
    }

    public static final class Builder {
        private final long size;
        private String backingFile;
        private String backingFormat;
        private final Map<String, String> formatOptions = new LinkedHashMap<>();

        private Builder(long size) {
            this.size = size;
        }

        public Builder backingFile(String file, String format) {
            this.backingFile = file;
            this.backingFormat = format;
            return this;
        }

        public Builder option(String name, String value) {
            formatOptions.put(name, value);
            return this;
        }

        public Builder options(Map<String, String> values) {
            formatOptions.putAll(values);
            return this;
        }

        public CreateOptions build() {
            return new CreateOptions(size, backingFile, backingFormat, formatOptions);
        }
    }
}
