package io.jblk.nativeio;

import java.util.Collections;
import java.util.EnumSet;
import java.util.Set;

/**
 * The permissions one open file holds and the ones it lets other users hold meanwhile: what QEMU's image locking
 * expresses in byte locks ({@link PermissionLock}). Two users conflict when one holds a permission the other does not
 * share.
 *
 * @param held   permissions this user takes (a lock on {@link Permission#heldByte()} each)
 * @param shared permissions other users may hold meanwhile (every other one gets a lock on
 *               {@link Permission#unsharedByte()})
 */
public record LockPermissions(Set<Permission> held, Set<Permission> shared) {
    private static final Set<Permission> ALL = Collections.unmodifiableSet(EnumSet.allOf(Permission.class));

    public LockPermissions {
        held = Collections.unmodifiableSet(copy(held));
        shared = Collections.unmodifiableSet(copy(shared));
    }

    public static LockPermissions of(Set<Permission> held, Set<Permission> shared) {
        return new LockPermissions(held, shared);
    }

    /** Every permission: what a force-share (qemu-img -U) user lets others do. */
    public static Set<Permission> all() {
        return ALL;
    }

    /**
     * The default for a file opened by itself: consistent reads, plus writes when writable; others may read, write
     * unchanged data and resize, but not write (QEMU's choice for a guest disk without share-rw).
     */
    public static LockPermissions defaultFor(boolean readOnly) {
        Set<Permission> held = readOnly ? EnumSet.of(Permission.CONSISTENT_READ)
                : EnumSet.of(Permission.CONSISTENT_READ, Permission.WRITE);
        return new LockPermissions(held, EnumSet.complementOf(EnumSet.of(Permission.WRITE)));
    }

    /** The permissions other users may not hold while this one is open. */
    public Set<Permission> unshared() {
        Set<Permission> unshared = EnumSet.allOf(Permission.class);
        unshared.removeAll(shared);
        return unshared;
    }

    /** These permissions with {@code more} held as well. */
    public LockPermissions holding(Set<Permission> more) {
        Set<Permission> h = copy(held);
        h.addAll(more);
        return new LockPermissions(h, shared);
    }

    /** These permissions without {@code less} held. */
    public LockPermissions notHolding(Set<Permission> less) {
        Set<Permission> h = copy(held);
        h.removeAll(less);
        return new LockPermissions(h, shared);
    }

    /** These permissions with {@code less} no longer shared. */
    public LockPermissions notSharing(Set<Permission> less) {
        Set<Permission> s = copy(shared);
        s.removeAll(less);
        return new LockPermissions(held, s);
    }

    private static EnumSet<Permission> copy(Set<Permission> set) {
        return set.isEmpty() ? EnumSet.noneOf(Permission.class) : EnumSet.copyOf(set);
    }

    @Override
    public String toString() {
        return "held " + held + ", shared " + shared;
    }
}
