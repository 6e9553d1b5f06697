/** The jblk command: qemu-img and qemu-io habits over jblk's drivers. */
module io.jblk.cli {
    requires io.jblk.api;
    requires io.jblk.nativeio;
    requires io.jblk.raw;
    requires io.jblk.qcow2;
    requires io.jblk.nbd;
    requires io.jblk.vhost;
    requires info.picocli;
    requires tools.jackson.core;
    requires java.desktop; // javax.imageio for map --picture out.png
    requires jdk.unsupported; // sun.misc.Signal: serve exits 0 on SIGTERM/SIGINT/SIGHUP, as qemu-nbd
    uses io.jblk.api.BlockDriver;
    opens io.jblk.cli to info.picocli;
    // Main.run(out, err, args): the command in-process (the tests' resource-bound sweep runs it in a small heap).
    exports io.jblk.cli;
}
