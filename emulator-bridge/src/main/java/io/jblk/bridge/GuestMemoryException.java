package io.jblk.bridge;

/** A guest-physical range that does not lie inside one region of guest memory. */
public final class GuestMemoryException extends VirtioException {
    private final long address;
    private final long length;

    public GuestMemoryException(long address, long length, String why) {
        super("guest range [0x" + Long.toHexString(address) + ", +" + length + ") " + why);
        this.address = address;
        this.length = length;
    }

    public long address() {
        return address;
    }

    public long length() {
        return length;
    }
}
