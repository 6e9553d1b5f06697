package io.jblk.api;

/** Which host I/O engine serves an image. */
public enum IoEngineKind {
    /** io_uring where the kernel allows it, else a thread pool; the choice and its cause are reported. */
    AUTO,
    /** io_uring or fail. */
    IO_URING,
    /** Synchronous system calls on a pool of platform threads. */
    THREADS;

    public static IoEngineKind parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> AUTO;
            case "io_uring", "io-uring", "uring" -> IO_URING;
            case "threads", "native" -> THREADS;
            default -> throw new IllegalArgumentException("unknown I/O engine '" + name + "' (expected auto, io_uring or threads)");
        };
    }
}
