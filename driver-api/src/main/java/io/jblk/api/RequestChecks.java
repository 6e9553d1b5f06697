package io.jblk.api;

/** The checks every {@link BlockDevice} applies to a request before doing anything, in one place. */
public final class RequestChecks {
    private RequestChecks() {
    }

    /**
     * Fails unless {@code [offset, offset+length)} lies inside a device of {@code size} bytes.
     *
     * @throws InvalidRequestException for negative values
     * @throws OutOfRangeException     for ranges past the end (including overflowing ones)
     */
    public static void checkRange(String operation, long offset, long length, long size)
            throws InvalidRequestException {
        if (offset < 0 || length < 0) {
            throw new InvalidRequestException(operation + " with negative offset " + offset + " or length " + length);
        }
        if (offset > size || length > size - offset) {
            throw new OutOfRangeException(operation, offset, length, size);
        }
    }

    /** {@link #checkRange} plus the read-only check for operations that modify the device. */
    public static void checkWrite(String operation, long offset, long length, long size, boolean readOnly)
            throws BlockException {
        checkRange(operation, offset, length, size);
        if (readOnly) {
            throw new ReadOnlyDeviceException(operation, offset, length);
        }
    }

    /** Fails unless a limited block-status request asks for at least one extent. */
    public static void checkExtentLimit(int maxExtents) throws InvalidRequestException {
        if (maxExtents < 1) {
            throw new InvalidRequestException("block status limited to " + maxExtents
                    + " extents; at least 1 is needed");
        }
    }

    /** Fails unless offset and length are multiples of {@code alignment} (a power of two). */
    public static void checkAlignment(String operation, long offset, long length, int alignment)
            throws InvalidRequestException {
        if (((offset | length) & (alignment - 1)) != 0) {
            throw new InvalidRequestException(operation + " at offset " + offset + " length " + length
                    + " is not aligned to " + alignment + " bytes");
        }
    }
}
