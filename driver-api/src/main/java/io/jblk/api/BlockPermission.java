package io.jblk.api;

/**
 * What a user of an image may do with it, with QEMU's names: each open holds some of these and shares some with
 * other users ({@link OpenOptions#sharedPermissions()}); two opens conflict when one holds what the other does not
 * share. The format driver adds what it needs itself: a qcow2 image's file never shares write or resize (its
 * metadata must not change under it), and a writable one also holds them.
 */
public enum BlockPermission {
    /** Reading and getting what was written ("consistent read"). */
    CONSISTENT_READ,
    /** Changing the visible content ("write"). */
    WRITE,
    /** Writing data that does not change the content, copy-on-read say ("write unchanged"). */
    WRITE_UNCHANGED,
    /** Changing the size ("resize"). */
    RESIZE
}
