package io.jblk.api;

/** How the host file is opened, with qemu's names. */
public enum CacheMode {
    /** O_DIRECT: bypass the host page cache; buffers and offsets are aligned by the I/O layer. */
    NONE,
    /** Through the host page cache; durability still comes from flush. */
    WRITEBACK;

    public static CacheMode parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "none", "directsync" -> NONE;
            case "writeback", "writethrough", "unsafe" -> WRITEBACK;
            default -> throw new IllegalArgumentException("unknown cache mode '" + name + "' (expected none or writeback)");
        };
    }
}
