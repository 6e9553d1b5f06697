package io.jblk.api;

/** Which host I/O engine serves an image. */
public enum IoEngineKind {
    /** io_uring where the kernel allows it, else a thread pool; the choice and its cause are reported. */
    AUTO,
    /** io_uring or fail. */
    IO_URING,
    /** Synchronous system calls on a pool of platform threads. */
    THREADS;

    /**
     * Parses an engine name as QEMU's tools spell their {@code aio} modes. {@code native} (QEMU: the kernel's own
     * asynchronous I/O, Linux AIO) means io_uring, jblk's kernel-asynchronous engine, everywhere: {@code jblk io -i},
     * {@code bench -i}/{@code -n}, {@code serve --aio}.
     */
    public static IoEngineKind parse(String name) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "auto" -> AUTO;
            case "io_uring", "io-uring", "uring", "native" -> IO_URING;
            case "threads" -> THREADS;
            default -> throw new IllegalArgumentException("unknown I/O engine '" + name
                    + "' (expected threads, native, io_uring or auto)");
        };
    }
}
