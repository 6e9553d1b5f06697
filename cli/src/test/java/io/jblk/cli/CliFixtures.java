package io.jblk.cli;

import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;

/**
 * The files the black-box cases name. Every run (jblk's and QEMU's) gets a fresh copy of the writable ones in its
 * own directory, so runs can go in parallel and one cannot change what another sees; the read-only ones are
 * shared, in {@code ../shared/}, since nothing can change them.
 *
 * <pre>
 * img.qcow2, img2.qcow2   1 MiB qcow2 images      img.raw   64 KiB raw image
 * junk.bin                text, probes as raw     dir/      a directory
 * ../shared/ro.qcow2      a qcow2 image that cannot be opened for writing
 * ../shared/rodir/        a directory in which nothing can be created
 * </pre>
 */
final class CliFixtures {
    static final String IMAGE = "img.qcow2";
    static final String IMAGE2 = "img2.qcow2";
    static final String RAW = "img.raw";
    static final String JUNK = "junk.bin";
    static final String DIR = "dir";
    static final String MISSING = "missing.qcow2";
    static final String READ_ONLY = "../shared/ro.qcow2";
    static final String READ_ONLY_DIR = "../shared/rodir";

    private final Path master;
    private final Path shared;
    /** Why the read-only fixtures could not be made read-only (null when they are). */
    private final String readOnlyProblem;
    private int runs;

    private CliFixtures(Path master, Path shared, String readOnlyProblem) {
        this.master = master;
        this.shared = shared;
        this.readOnlyProblem = readOnlyProblem;
    }

    static CliFixtures create(Path root) throws IOException, InterruptedException {
        Path master = Files.createDirectories(root.resolve("master"));
        // 4 KiB clusters keep the copy each run gets small
        BlockDrivers.create(master.resolve(IMAGE), "qcow2", CreateOptions.builder(1 << 20)
                .option("cluster_size", "4096").build());
        BlockDrivers.create(master.resolve(RAW), "raw", CreateOptions.builder(64 << 10).build());
        Files.writeString(master.resolve(JUNK), "this is not a disk image\n".repeat(400), StandardCharsets.UTF_8);
        Path shared = Files.createDirectories(root.resolve("shared"));
        Files.copy(master.resolve(IMAGE), shared.resolve("ro.qcow2"));
        Path rodir = Files.createDirectories(shared.resolve("rodir"));
        return new CliFixtures(master, shared, makeReadOnly(shared.resolve("ro.qcow2"), rodir));
    }

    /**
     * Permission bits first; as root they do not stop a writer, so then the immutable attribute (ext4, xfs, btrfs).
     * Returns null when writing is refused afterwards, else what stood in the way.
     */
    private static String makeReadOnly(Path file, Path dir) throws IOException, InterruptedException {
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-xr-xr-x"));
        if (!writable(file, dir)) {
            return null;
        }
        String chattr;
        try {
            chattr = ChildProcess.run(dir.getParent(), "chattr +i", List.of("chattr", "+i", file.toString(),
                    dir.toString()))
                    .stderr().strip();
        } catch (IOException e) {
            chattr = e.getMessage();
        }
        if (!writable(file, dir)) {
            return null;
        }
        return "neither permissions nor 'chattr +i' make a file read-only here (" + chattr + ")";
    }

    private static boolean writable(Path file, Path dir) {
        try {
            Files.newOutputStream(file, StandardOpenOption.APPEND).close();
            return true;
        } catch (AccessDeniedException e) {
            // expected
        } catch (IOException e) {
            if (!(e instanceof FileSystemException)) {
                return true;
            }
        }
        try {
            Files.delete(Files.createFile(dir.resolve("probe")));
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    String readOnlyProblem() {
        return readOnlyProblem;
    }

    /** A new directory beside the shared one, holding fresh copies of the writable fixtures. */
    synchronized Path newRun(String label) throws IOException {
        Path run = Files.createDirectories(shared.resolveSibling(String.format("run-%04d-%s", runs++,
                label.replaceAll("[^A-Za-z0-9]+", "-"))));
        Files.copy(master.resolve(IMAGE), run.resolve(IMAGE));
        Files.copy(master.resolve(IMAGE), run.resolve(IMAGE2));
        Files.copy(master.resolve(RAW), run.resolve(RAW));
        Files.copy(master.resolve(JUNK), run.resolve(JUNK));
        Files.createDirectories(run.resolve(DIR));
        return run;
    }

    /** Undoes the immutable attribute, so the temporary directory can be deleted. */
    void close() throws IOException, InterruptedException {
        Path file = shared.resolve("ro.qcow2");
        Path dir = shared.resolve("rodir");
        try {
            ChildProcess.run(shared, "chattr -i", List.of("chattr", "-i", file.toString(), dir.toString()));
        } catch (IOException e) {
            // no chattr: the permission bits were enough
        }
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    }
}
