package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockPermission;
import io.jblk.api.FileConfinement;
import io.jblk.api.OpenOptions;
import io.jblk.vhost.VhostUserBlkServer;

import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * {@code jblk serve --vhost-user -k SOCKET [-f FMT] [-r [-U]] [--queues N] [--cache MODE] [--aio MODE] FILE}: the image as
 * a vhost-user-blk disk for one VMM at a time, until SIGTERM/SIGINT/SIGHUP. On a signal the front-end is disconnected,
 * the requests in flight finish, the image is flushed and closed, the socket removed, and the command exits 0.
 */
final class VhostUserServe {
    /** NBD-only options, refused with --vhost-user rather than silently ignored. */
    private static final List<String> NBD_ONLY = List.of("--bind", "--port", "--export-name", "--description",
            "--shared", "--persistent", "--discard");

    private final ServeCommand c;

    VhostUserServe(ServeCommand command) {
        this.c = command;
    }

    int run() throws Exception {
        for (String option : NBD_ONLY) {
            if (c.spec.commandLine().getParseResult().hasMatchedOption(option)) {
                throw new CliException(option + " is an NBD option; it does not apply to --vhost-user");
            }
        }
        if (c.socket == null) {
            throw new CliException("--vhost-user needs -k SOCKET (the path QEMU's -chardev socket,path=... names)");
        }
        if (c.queues < 1 || c.queues > 256) {
            throw new CliException("--queues must be between 1 and 256, got " + c.queues);
        }
        if (c.format == null) {
            c.err().println("jblk serve: WARNING: probing the format of " + c.file
                    + "; pass -f for images a guest can write");
        }
        String engine = c.aio == null ? null : switch (c.aio) {
            case "threads" -> "threads";
            case "native", "io_uring" -> "io_uring";
            default -> throw new CliException("unknown --aio mode '" + c.aio
                    + "' (expected threads, native or io_uring)");
        };
        FileConfinement confined = c.confinement.confinement(true);
        // Lets the shutdown hook below wait until the device is flushed and closed.
        CountDownLatch closed = new CountDownLatch(1);
        // Locked as qemu-storage-daemon's export and jblk's NBD serve lock theirs: sharing all but resize.
        OpenOptions.Builder options = Images.options(c.readOnly, c.forceShare).sharedPermissions(
                EnumSet.complementOf(EnumSet.of(BlockPermission.RESIZE))).confinement(confined);
        try (BlockDevice device = Images.open(c.file, c.format, options, c.cache, engine);
             VhostUserBlkServer server = build(device);
             StopSignals signals = StopSignals.install(() -> Thread.ofPlatform().name("serve-stop")
                     .start(() -> closeQuietly(server)))) {
            // SIGTERM/SIGINT/SIGHUP stop serving and the command exits 0 (the vhost-user back-end convention);
            // other ways the JVM may end still stop the server and wait until the image is flushed and closed.
            Thread hook = new Thread(() -> {
                closeQuietly(server);
                try {
                    closed.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Runtime.getRuntime().addShutdownHook(hook);
            c.err().println("jblk serve: vhost-user-blk back-end for " + c.file + " (" + device.size() + " bytes, "
                    + c.queues + (c.queues == 1 ? " queue" : " queues") + (device.isReadOnly() ? ", read-only" : "")
                    + ") on " + c.socket);
            c.err().flush();
            server.run();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // already shutting down: the hook waits for the latch below
            }
        } catch (java.io.IOException e) {
            throw new CliException("serving " + c.file + " on " + c.socket + " failed: " + e.getMessage());
        } finally {
            closed.countDown();
        }
        return 0;
    }

    private VhostUserBlkServer build(BlockDevice device) {
        try {
            return VhostUserBlkServer.builder(device, c.socket).queues(c.queues).serial(serial()).build();
        } catch (java.io.IOException e) {
            throw new CliException("cannot serve " + c.file + " on " + c.socket + ": " + e.getMessage());
        }
    }

    private static void closeQuietly(VhostUserBlkServer server) {
        try {
            server.close();
        } catch (java.io.IOException e) {
            System.getLogger("io.jblk.cli").log(System.Logger.Level.ERROR, "stopping the vhost-user back-end: "
                    + e.getMessage());
        }
    }

    /** GET_ID's serial: the image's file name, cut to the 20 bytes virtio-blk allows. */
    private String serial() {
        String name = c.file.getFileName().toString().replaceAll("[^\\x20-\\x7e]", "_");
        return name.length() > 20 ? name.substring(0, 20) : name;
    }
}
