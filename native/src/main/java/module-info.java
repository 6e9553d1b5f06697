/**
 * Linux host I/O through Panama FFM: {@link io.jblk.nativeio.HostFile} over io_uring or a thread pool, O_DIRECT
 * with aligned bounce buffers, fallocate zeroing and hole punching, fdatasync. The only module that knows kernel
 * structure layouts. Requires the api only to translate its open options into host-file options
 * ({@link io.jblk.nativeio.HostFileOpening}) and to name the drivers that open their host files through a seam
 * ({@link io.jblk.nativeio.HostFileDriver}).
 */
module io.jblk.nativeio {
    requires transitive io.jblk.api;
    exports io.jblk.nativeio;
}
