/** The raw format: the image file is the disk. Also serves as backing file and external data file. */
module io.jblk.raw {
    requires io.jblk.api;
    requires io.jblk.nativeio;
    exports io.jblk.raw;
    provides io.jblk.api.BlockDriver with io.jblk.raw.RawDriver;
}
