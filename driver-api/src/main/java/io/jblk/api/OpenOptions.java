package io.jblk.api;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How to open an image.
 *
 * @param readOnly      refuse writes; the file is opened read-only
 * @param cacheMode     host page cache use
 * @param ioEngine      host I/O engine
 * @param formatOptions format-specific runtime options (e.g. qcow2 {@code l2-cache-size}), passed through
 */
public record OpenOptions(boolean readOnly, CacheMode cacheMode, IoEngineKind ioEngine,
                          Map<String, String> formatOptions) {

    public OpenOptions {
        if (cacheMode == null || ioEngine == null) {
            throw new IllegalArgumentException("cacheMode and ioEngine must be set");
        }
        formatOptions = Map.copyOf(formatOptions == null ? Map.of() : formatOptions);
    }

    public static OpenOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder().readOnly(readOnly).cacheMode(cacheMode).ioEngine(ioEngine);
        b.formatOptions.putAll(formatOptions);
        return b;
    }

    /** The option's value, or {@code fallback} when unset. */
    public String formatOption(String name, String fallback) {
        return formatOptions.getOrDefault(name, fallback);
    }

    public static final class Builder {
        private boolean readOnly;
        private CacheMode cacheMode = CacheMode.WRITEBACK;
        private IoEngineKind ioEngine = IoEngineKind.AUTO;
        private final Map<String, String> formatOptions = new LinkedHashMap<>();

        public Builder readOnly(boolean value) {
            this.readOnly = value;
            return this;
        }

        public Builder cacheMode(CacheMode value) {
            this.cacheMode = value;
            return this;
        }

        public Builder ioEngine(IoEngineKind value) {
            this.ioEngine = value;
            return this;
        }

        public Builder formatOption(String name, String value) {
            formatOptions.put(name, value);
            return this;
        }

        public OpenOptions build() {
            return new OpenOptions(readOnly, cacheMode, ioEngine, formatOptions);
        }
    }
}
