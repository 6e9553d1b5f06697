package io.jblk.nativeio;

import java.io.IOException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

/**
 * QEMU's image locking (file-posix, QEMU 7.2), the one place jblk implements it. A user of a file read-locks byte
 * {@code 100 + N} for each permission N it holds and byte {@code 200 + N} for each permission N it does not share
 * ({@link Permission}); read locks never conflict with each other, so holding is free. Conflicts are found by asking
 * whether anyone else has a lock on the bytes that matter: for each permission held, its "not shared" byte; for each
 * permission not shared, its "held" byte. QEMU's order, kept here because another process may be doing the same at
 * the same moment: take the new bytes first, then test, then drop the bytes no longer wanted; on a conflict drop what
 * was just taken. Two openers racing each see the other's bytes, so at least one fails; neither can slip past.
 *
 * <p>The byte locks themselves come from {@link ByteLocks}: open-file-description locks for the native engines
 * ({@link OfdByteLocks}), {@code FileChannel} locks for the pure-Java one ({@link ChannelByteLocks}).
 *
 * <p>Not thread-safe: a file's lock changes happen on the thread that opens, changes or closes it.
 */
final class PermissionLock {

    /** The byte-granular locks of one open file. */
    interface ByteLocks {
        /** Read-locks one byte for this open file. */
        void lock(long offset) throws IOException;

        /** Releases this open file's lock on one byte (nothing if it has none). */
        void unlock(long offset) throws IOException;

        /** Whether anyone but this open file holds a lock on the byte (QEMU asks F_OFD_GETLK for a write lock). */
        boolean lockedByOthers(long offset) throws IOException;
    }

    private final Path path;
    private final ByteLocks bytes;
    private Set<Permission> lockedHeld = EnumSet.noneOf(Permission.class);
    private Set<Permission> lockedUnshared = EnumSet.noneOf(Permission.class);

    PermissionLock(Path path, ByteLocks bytes) {
        this.path = path;
        this.bytes = bytes;
    }

    /**
     * Moves this file's locks to {@code wanted}; on a conflict, leaves them as they were and throws.
     *
     * @throws FileInUseException naming the first permission in dispute, as QEMU reports it
     */
    void change(LockPermissions wanted) throws IOException {
        Set<Permission> wantHeld = EnumSet.noneOf(Permission.class);
        wantHeld.addAll(wanted.held());
        Set<Permission> wantUnshared = wanted.unshared();
        Set<Permission> newHeld = EnumSet.noneOf(Permission.class);
        Set<Permission> newUnshared = EnumSet.noneOf(Permission.class);
        try {
            for (Permission p : wantHeld) {
                if (!lockedHeld.contains(p)) {
                    bytes.lock(p.heldByte());
                    newHeld.add(p);
                }
            }
            for (Permission p : wantUnshared) {
                if (!lockedUnshared.contains(p)) {
                    bytes.lock(p.unsharedByte());
                    newUnshared.add(p);
                }
            }
            for (Permission p : wantHeld) {
                if (bytes.lockedByOthers(p.unsharedByte())) {
                    throw new FileInUseException(path, p, false);
                }
            }
            for (Permission p : wantUnshared) {
                if (bytes.lockedByOthers(p.heldByte())) {
                    throw new FileInUseException(path, p, true);
                }
            }
        } catch (IOException | RuntimeException e) {
            try {
                for (Permission p : newHeld) {
                    bytes.unlock(p.heldByte());
                }
                for (Permission p : newUnshared) {
                    bytes.unlock(p.unsharedByte());
                }
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        for (Permission p : lockedHeld) {
            if (!wantHeld.contains(p)) {
                bytes.unlock(p.heldByte());
            }
        }
        for (Permission p : lockedUnshared) {
            if (!wantUnshared.contains(p)) {
                bytes.unlock(p.unsharedByte());
            }
        }
        lockedHeld = wantHeld;
        lockedUnshared = wantUnshared;
    }

    /** Releases every byte this file holds. */
    void release() throws IOException {
        change(new LockPermissions(Set.of(), LockPermissions.all()));
    }
}
