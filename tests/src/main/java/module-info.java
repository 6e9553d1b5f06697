/** Integration, interop (real QEMU tools), crash and bad-input tests; no production code. */
module io.jblk.tests {
    requires io.jblk.api;
    requires io.jblk.nativeio;
    requires io.jblk.raw;
    requires io.jblk.qcow2;
    requires io.jblk.bridge;
    requires io.jblk.nbd;
    requires io.jblk.cli;
    // Reliability tests measure per-thread allocation (com.sun.management.ThreadMXBean).
    requires jdk.management;
}
