package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockPermission;
import io.jblk.api.OpenOptions;
import io.jblk.api.FileConfinement;
import io.jblk.nbd.NbdServer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code jblk serve}: exports an image over NBD, with qemu-nbd's flag names, or with {@code --vhost-user} as a
 * vhost-user-blk back-end for VMMs ({@link VhostUserServe}).
 */
@Command(name = "serve", description = "Export a disk image over NBD (like qemu-nbd), or to a VMM as a vhost-user-blk"
        + " back-end (--vhost-user -k SOCKET, like qemu-storage-daemon's vhost-user-blk export).")
final class ServeCommand extends Subcommand {
    @Option(names = {"-f", "--format"}, description = "image format (probed when absent; a probed raw image refuses "
            + "writes to its first 512 bytes that would change its format, so pass it for guest-written images)")
    String format;
    @Option(names = {"-r", "--read-only"}, description = "export read-only") boolean readOnly;
    @Option(names = {"-U", "--force-share"}, description = "with -r: force shared permissions, so the image is served "
            + "even while another process writes it (qemu-nbd: --image-opts with force-share=on)") boolean forceShare;
    @Option(names = {"-k", "--socket"}, paramLabel = "PATH", description = "listen on this Unix-domain socket")
    Path socket;
    @Option(names = {"-b", "--bind"}, description = "TCP address to listen on (default ${DEFAULT-VALUE})",
            defaultValue = "127.0.0.1") String bind;
    @Option(names = {"-p", "--port"}, description = "TCP port (default ${DEFAULT-VALUE})",
            defaultValue = "" + NbdServer.DEFAULT_PORT) int port;
    @Option(names = {"-x", "--export-name"}, description = "export name (default: empty)", defaultValue = "")
    String exportName;
    @Option(names = {"-D", "--description"}, description = "export description") String description;
    @Option(names = {"-e", "--shared"}, description = "simultaneous clients (default ${DEFAULT-VALUE})",
            defaultValue = "1") int shared;
    @Option(names = {"-t", "--persistent"}, description = "keep serving after the last client disconnects")
    boolean persistent;
    @Option(names = "--cache", description = "none or writeback (default ${DEFAULT-VALUE})",
            defaultValue = "writeback") String cache;
    @Option(names = "--aio", paramLabel = "MODE", description = "I/O engine as qemu-nbd's --aio: threads, native or "
            + "io_uring (native = io_uring in jblk; default: io_uring where the kernel allows it, else threads)")
    String aio;
    @Option(names = "--discard", description = "unmap or ignore (default ${DEFAULT-VALUE}, as qemu-nbd)",
            defaultValue = "ignore") String discard;
    @Mixin ConfinementOptions confinement;
    @Option(names = "--vhost-user", description = "serve a vhost-user-blk back-end on the -k socket instead of NBD"
            + " (QEMU: -device vhost-user-blk-pci; see docs/vhost-user.md)") boolean vhostUser;
    @Option(names = "--queues", paramLabel = "N", description = "with --vhost-user: request queues offered, 1-256"
            + " (default ${DEFAULT-VALUE}; the VMM's num-queues must not exceed it)", defaultValue = "1") int queues;
    @Parameters(index = "0", paramLabel = "FILE") Path file;

    @Override
    public Integer call() throws Exception {
        if (vhostUser) {
            return new VhostUserServe(this).run();
        }
        if (spec.commandLine().getParseResult().hasMatchedOption("--queues")) {
            throw new CliException("--queues applies to --vhost-user only");
        }
        boolean unmap = switch (discard) {
            case "unmap", "on" -> true;
            case "ignore", "off" -> false;
            default -> throw new CliException("unknown --discard mode '" + discard + "' (expected unmap or ignore)");
        };
        if (shared < 1) {
            throw new CliException("--shared must be at least 1, got " + shared);
        }
        if (port < 0 || port > 65535) {
            throw new CliException("--port must be between 0 and 65535, got " + port);
        }
        FileConfinement confined = confinement.confinement(true);
        // Lets the shutdown hook below wait until the device is flushed and closed.
        CountDownLatch closed = new CountDownLatch(1);
        String engine = aio == null ? null : switch (aio) {
            case "threads" -> "threads";
            case "native", "io_uring" -> "io_uring";
            default -> throw new CliException("unknown --aio mode '" + aio + "' (expected threads, native or io_uring)");
        };
        // Locked as qemu-nbd locks its export: sharing everything but resize (the export's size is fixed).
        OpenOptions.Builder options = Images.options(readOnly, forceShare).sharedPermissions(
                EnumSet.complementOf(EnumSet.of(BlockPermission.RESIZE))).confinement(confined);
        try (BlockDevice device = Images.open(file, format, options, cache, engine)) {
            Images.warnIfProbedRaw(err(), file, format, device);
            NbdServer.Builder builder = NbdServer.builder().device(device).exportName(exportName)
                    .description(description).readOnly(readOnly).unmap(unmap).maxConnections(shared)
                    .persistent(persistent);
            if (socket != null) {
                builder.unixSocket(socket);
            } else {
                builder.tcp(bind, port);
            }
            try (NbdServer server = builder.build().start();
                 StopSignals signals = StopSignals.install(() -> Thread.ofPlatform().name("serve-stop")
                         .start(server::close))) {
                // Other ways the JVM may end (System.exit elsewhere, a signal that could not be handled) still
                // stop the server and wait until the device below is flushed and closed.
                Thread hook = new Thread(() -> {
                    server.close();
                    try {
                        closed.await(30, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                Runtime.getRuntime().addShutdownHook(hook);
                err().println("jblk serve: exporting " + file + " (" + device.size() + " bytes) as '"
                        + exportName + "' on " + server.address());
                err().flush();
                server.awaitTermination();
                try {
                    Runtime.getRuntime().removeShutdownHook(hook);
                } catch (IllegalStateException e) {
                    // already shutting down: the hook is waiting for the latch below
                }
            }
        } finally {
            closed.countDown();
        }
        return 0;
    }
}
