/** An NBD (fixed newstyle) server exporting any {@link io.jblk.api.BlockDevice}. */
module io.jblk.nbd {
    requires io.jblk.api;
    exports io.jblk.nbd;
}
