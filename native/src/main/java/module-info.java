/**
 * Linux host I/O through Panama FFM: {@link io.jblk.nativeio.HostFile} over io_uring or a thread pool, O_DIRECT
 * with aligned bounce buffers, fallocate zeroing and hole punching, fdatasync. The only module that knows kernel
 * structure layouts.
 */
module io.jblk.nativeio {
    exports io.jblk.nativeio;
}
