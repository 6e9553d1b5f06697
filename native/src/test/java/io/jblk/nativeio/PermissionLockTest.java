package io.jblk.nativeio;

import io.jblk.api.testing.ProcLocks;
import io.jblk.api.testing.SeededRandom;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * QEMU's image-locking protocol on every engine, checked against what the kernel lists in {@code /proc/locks}: the
 * bytes each open holds, which second opens are refused and with which message, and that a refused or closed open
 * leaves no byte behind. (Against QEMU's own tools: {@code LockInteropMatrixTest} in the tests module.)
 */
class PermissionLockTest {
    @TempDir
    Path dir;

    private static HostFileOptions options(HostFileOptions.Engine engine, LockPermissions lock) {
        assumeTrue(engine != HostFileOptions.Engine.IO_URING || IoUringSupport.unavailabilityCause() == null,
                "io_uring unavailable");
        return HostFileOptions.defaults().withEngine(engine).withLock(lock);
    }

    private Path file() throws IOException {
        Path p = dir.resolve("image");
        if (!Files.exists(p)) {
            Files.write(p, new byte[4096]);
        }
        return p;
    }

    /** The bytes QEMU's protocol gives {@code p}: 100 + N per permission held, 200 + N per permission not shared. */
    private static List<Long> bytesOf(LockPermissions p) {
        List<Long> bytes = new ArrayList<>();
        p.held().forEach(x -> bytes.add(x.heldByte()));
        p.unshared().forEach(x -> bytes.add(x.unsharedByte()));
        Collections.sort(bytes);
        return bytes;
    }

    private static LockPermissions random(SplittableRandom rnd) {
        Set<Permission> held = EnumSet.noneOf(Permission.class);
        Set<Permission> shared = EnumSet.noneOf(Permission.class);
        for (Permission p : Permission.values()) {
            if (rnd.nextBoolean()) {
                held.add(p);
            }
            if (rnd.nextInt(3) > 0) {
                shared.add(p);
            }
        }
        return LockPermissions.of(held, shared);
    }

    @ParameterizedTest
    @EnumSource(value = HostFileOptions.Engine.class, names = {"THREADS", "IO_URING", "FILECHANNEL"})
    void holdsExactlyTheProtocolsBytesAndReleasesThemOnClose(HostFileOptions.Engine engine) throws Exception {
        SplittableRandom rnd = SeededRandom.forTest("lock-bytes-" + engine);
        Path p = file();
        for (int i = 0; i < 40; i++) {
            LockPermissions perms = random(rnd);
            try (HostFile f = HostFile.open(p, options(engine, perms))) {
                assertEquals(bytesOf(perms), ProcLocks.bytes(p), perms + " on " + f);
            }
            assertEquals(List.of(), ProcLocks.bytes(p), "no byte left after closing " + perms);
        }
    }

    /**
     * Two opens of one file in this process conflict exactly when one holds a permission the other does not share;
     * the refusal names the first permission in QEMU's order, held ones before shared ones, as QEMU does, and takes
     * nothing away from the first open.
     */
    @ParameterizedTest
    @EnumSource(value = HostFileOptions.Engine.class, names = {"THREADS", "IO_URING", "FILECHANNEL"})
    void secondOpenIsRefusedExactlyOnAConflict(HostFileOptions.Engine engine) throws Exception {
        SplittableRandom rnd = SeededRandom.forTest("lock-conflicts-" + engine);
        Path p = file();
        int refused = 0;
        for (int i = 0; i < 150; i++) {
            LockPermissions first = random(rnd);
            LockPermissions second = random(rnd);
            String expected = expectedRefusal(first, second);
            try (HostFile a = HostFile.open(p, options(engine, first))) {
                if (expected == null) {
                    try (HostFile b = HostFile.open(p, options(engine, second))) {
                        List<Long> both = new ArrayList<>(bytesOf(first));
                        both.addAll(bytesOf(second));
                        if (engine == HostFileOptions.Engine.FILECHANNEL) {
                            // POSIX locks belong to the process: one kernel lock per byte, however many opens hold it
                            both = new ArrayList<>(new java.util.TreeSet<>(both));
                        }
                        Collections.sort(both);
                        assertEquals(both, ProcLocks.bytes(p), first + " then " + second);
                    }
                } else {
                    refused++;
                    FileInUseException e = assertThrows(FileInUseException.class,
                            () -> HostFile.open(p, options(engine, second)).close(), first + " then " + second);
                    assertEquals(expected + "\nIs another process using the image [" + p + "]?", e.getMessage());
                }
                assertEquals(bytesOf(first), ProcLocks.bytes(p), "the first open keeps its bytes: " + first);
            }
        }
        assertTrue(refused > 20 && refused < 140, "the sample has both outcomes: " + refused + " refused");
    }

    private static void assertTrue(boolean condition, String message) {
        org.junit.jupiter.api.Assertions.assertTrue(condition, message);
    }

    /** QEMU's verdict for opening {@code second} while {@code first} is open, or null if it opens. */
    private static String expectedRefusal(LockPermissions first, LockPermissions second) {
        for (Permission p : Permission.values()) {
            if (second.held().contains(p) && first.unshared().contains(p)) {
                return "Failed to get \"" + p.qemuName() + "\" lock";
            }
        }
        for (Permission p : Permission.values()) {
            if (second.unshared().contains(p) && first.held().contains(p)) {
                return "Failed to get shared \"" + p.qemuName() + "\" lock";
            }
        }
        return null;
    }

    /**
     * The pure-Java engine's locks are the process's: closing any descriptor of the file drops all of them in the
     * kernel. The other open's bytes must be back after one of two opens closes.
     */
    @org.junit.jupiter.api.Test
    void fileChannelLocksSurviveClosingAnotherOpenOfTheFile() throws Exception {
        Path p = file();
        LockPermissions reader = LockPermissions.defaultFor(true);
        LockPermissions other = LockPermissions.of(EnumSet.of(Permission.CONSISTENT_READ, Permission.RESIZE),
                LockPermissions.all());
        try (HostFile a = HostFile.open(p, options(HostFileOptions.Engine.FILECHANNEL, reader))) {
            HostFile.open(p, options(HostFileOptions.Engine.FILECHANNEL, other)).close();
            assertEquals(bytesOf(reader), ProcLocks.bytes(p));
            // and an unlocked open of the same file, closed, does not drop them either
            HostFile.open(p, options(HostFileOptions.Engine.FILECHANNEL, null)).close();
            assertEquals(bytesOf(reader), ProcLocks.bytes(p));
        }
        assertEquals(List.of(), ProcLocks.bytes(p));
    }
}
