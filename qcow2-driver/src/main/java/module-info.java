/** The qcow2 format, versions 2 and 3, with Extended L2 Entries (subcluster allocation). */
module io.jblk.qcow2 {
    requires io.jblk.api;
    requires io.jblk.nativeio;
}
