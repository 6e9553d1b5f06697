/** The qcow2 format, versions 2 and 3, with Extended L2 Entries (subcluster allocation). */
module io.jblk.qcow2 {
    requires io.jblk.api;
    requires io.jblk.nativeio;
    requires aircompressor.v3;
    exports io.jblk.qcow2;
    exports io.jblk.qcow2.format;
    exports io.jblk.qcow2.image;
    exports io.jblk.qcow2.io;
    exports io.jblk.qcow2.meta;
    exports io.jblk.qcow2.check;
    provides io.jblk.api.BlockDriver with io.jblk.qcow2.Qcow2Driver;
}
