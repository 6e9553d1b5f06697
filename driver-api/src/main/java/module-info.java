/**
 * The jblk block-driver API: the {@link io.jblk.api.BlockDriver} SPI, the asynchronous
 * {@link io.jblk.api.BlockDevice}, options, block status and the exception hierarchy. No I/O code lives here.
 */
module io.jblk.api {
    exports io.jblk.api;
    uses io.jblk.api.BlockDriver;
}
