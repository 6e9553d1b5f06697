package io.jblk.cli.locks;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.BlockPermission;
import io.jblk.api.LockMode;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;
import io.jblk.api.testing.ProcLocks;
import io.jblk.cli.Main;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The first opener of an image, kept open while second openers try their luck: QEMU's tool or jblk's equivalent.
 * Stopping it releases the image.
 */
abstract class Holder implements AutoCloseable {
    /** How the first opener uses the image; each has a QEMU tool and a jblk form that should lock alike. */
    enum Kind {
        /** qemu-io FILE / jblk's library open with qemu-io's permissions (what {@code jblk io} uses). */
        IO_RW(false, false, false),
        /** qemu-io -r FILE. */
        IO_RO(true, false, false),
        /** qemu-io -r -U FILE. */
        IO_RO_SHARED(true, true, false),
        /** qemu-nbd FILE / jblk serve FILE. */
        NBD_RW(false, false, true),
        /** qemu-nbd -r FILE / jblk serve -r FILE. */
        NBD_RO(true, false, true),
        /** qemu-nbd -r --image-opts ...,force-share=on / jblk serve -r -U FILE. */
        NBD_RO_SHARED(true, true, true);

        final boolean readOnly;
        final boolean forceShare;
        final boolean nbd;

        Kind(boolean readOnly, boolean forceShare, boolean nbd) {
            this.readOnly = readOnly;
            this.forceShare = forceShare;
            this.nbd = nbd;
        }
    }

    private static final long START_TIMEOUT_MS = 20_000;

    final String description;

    Holder(String description) {
        this.description = description;
    }

    @Override
    public abstract void close() throws Exception;

    @Override
    public String toString() {
        return description;
    }

    static Holder qemu(Kind kind, Path image, String format, Path dir) throws Exception {
        ExternalTool.assumeAvailable("qemu-io", "qemu-nbd");
        List<String> cmd = new ArrayList<>();
        Path socket = dir.resolve("qemu-holder.sock");
        if (kind.nbd) {
            cmd.addAll(List.of("qemu-nbd", "-k", socket.toString()));
            if (kind.readOnly) {
                cmd.add("-r");
            }
            if (kind.forceShare) { // qemu-nbd 7.2 has no -U: force-share goes through --image-opts
                cmd.addAll(List.of("--image-opts", "driver=" + format + ",file.filename=" + image + ",force-share=on"));
            } else {
                cmd.addAll(List.of("-f", format, image.toString()));
            }
        } else {
            cmd.addAll(List.of("qemu-io", "-f", format));
            if (kind.readOnly) {
                cmd.add("-r");
            }
            if (kind.forceShare) {
                cmd.add("-U");
            }
            cmd.add(image.toString());
        }
        Path log = dir.resolve("qemu-holder.log");
        Process process = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        String description = "QEMU " + String.join(" ", cmd).replace(dir + "/", "");
        Holder holder = new Holder(description) {
            @Override
            public void close() throws Exception {
                if (kind.nbd) {
                    process.destroy();
                } else {
                    process.getOutputStream().close(); // qemu-io quits at the end of its input
                }
                if (!process.waitFor(20, TimeUnit.SECONDS)) {
                    process.destroyForcibly().waitFor();
                }
                Files.deleteIfExists(socket);
            }
        };
        awaitLocks(image, () -> process.isAlive() ? null : "exited: " + Files.readString(log));
        return holder;
    }

    /**
     * jblk in this JVM: {@code jblk serve} through the command line's own code for the NBD kinds, and for the
     * qemu-io kinds a device opened with the options {@code jblk io} uses (qemu-io's). OFD locks make two opens in
     * one process conflict exactly as two processes do, which {@code crossProcess} cases confirm.
     */
    static Holder jblk(Kind kind, Path image, String format, Path dir) throws Exception {
        if (!kind.nbd) {
            OpenOptions options = OpenOptions.builder().readOnly(kind.readOnly)
                    .sharedPermissions(EnumSet.allOf(BlockPermission.class))
                    .lockMode(kind.forceShare ? LockMode.FORCE_SHARE : LockMode.ON).build();
            BlockDevice device = BlockDrivers.open(image, format, options);
            return new Holder("jblk device " + kind) {
                @Override
                public void close() throws Exception {
                    device.close();
                }
            };
        }
        Path socket = dir.resolve("jblk-holder.sock");
        List<String> args = new ArrayList<>(List.of("serve", "-f", format, "-k", socket.toString()));
        if (kind.readOnly) {
            args.add("-r");
        }
        if (kind.forceShare) {
            args.add("-U");
        }
        args.add(image.toString());
        Serve serve = Serve.start(args);
        Holder holder = new Holder("jblk " + String.join(" ", args).replace(dir + "/", "")) {
            @Override
            public void close() throws Exception {
                serve.stop(socket);
            }
        };
        awaitLocks(image, () -> serve.finished() ? "exited: " + serve.stderr() : null);
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (!Files.exists(socket)) { // the image is open (locked) before the socket is bound
            if (serve.finished() || System.currentTimeMillis() > deadline) {
                throw new AssertionError(holder + " holds the image but has no socket: " + serve.stderr());
            }
            Thread.sleep(5);
        }
        return holder;
    }

    /** Waits until the image carries locks (the holder has opened it), failing if {@code death} reports an exit. */
    static void awaitLocks(Path image, IoCheck death) throws Exception {
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        while (ProcLocks.on(image).isEmpty()) {
            String dead = death.check();
            if (dead != null) {
                throw new AssertionError("holder of " + image + " " + dead);
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("holder of " + image + " took no lock within " + START_TIMEOUT_MS + " ms");
            }
            Thread.sleep(10);
        }
        Thread.sleep(50); // the holder takes its bytes one by one: let it finish
    }

    @FunctionalInterface
    interface IoCheck {
        String check() throws IOException;
    }

    /** {@code jblk serve} run in this JVM through {@link Main}, on a thread of its own. */
    static final class Serve {
        private final Thread thread;
        private final StringWriter err = new StringWriter();
        private volatile int exitCode = -1;

        private Serve(List<String> args) {
            this.thread = Thread.ofPlatform().daemon().name("jblk-serve").unstarted(() ->
                    exitCode = Main.run(new PrintWriter(new StringWriter()), new PrintWriter(err),
                            args.toArray(String[]::new)));
        }

        static Serve start(List<String> args) {
            Serve s = new Serve(args);
            s.thread.start();
            return s;
        }

        boolean finished() {
            return !thread.isAlive();
        }

        int exitCode() {
            return exitCode;
        }

        synchronized String stderr() {
            return err.toString();
        }

        /** A non-persistent server ends when its one client leaves: connect once with nbdinfo, then wait. */
        void stop(Path socket) throws Exception {
            if (thread.isAlive()) {
                ExternalTool.assumeAvailable("nbdinfo");
                ExternalTool.run("nbdinfo", "--size", "nbd+unix:///?socket=" + socket);
                thread.join(30_000);
                if (thread.isAlive()) {
                    throw new AssertionError("jblk serve did not end after its client left");
                }
            }
        }
    }
}
