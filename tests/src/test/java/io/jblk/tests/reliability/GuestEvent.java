package io.jblk.tests.reliability;

/**
 * A request the workload issued to the device under test, with the {@link HostOpLog} clock at issue and at
 * successful completion ({@code Long.MAX_VALUE} while not completed, or when it failed).
 */
public sealed interface GuestEvent {
    long issuedAt();

    long ackedAt();

    record Write(long offset, byte[] data, long issuedAt, long ackedAt) implements GuestEvent {
    }

    record Zeroes(long offset, long length, long issuedAt, long ackedAt) implements GuestEvent {
    }

    /** After a discard a range may read as zeros, as its old content or as the backing data. */
    record Discard(long offset, long length, long issuedAt, long ackedAt) implements GuestEvent {
    }

    record Flush(long issuedAt, long ackedAt) implements GuestEvent {
    }

    /**
     * The virtual size changed to {@code newSize} (an {@link io.jblk.api.ImageResizer} resize between two opens of
     * the image). A resize syncs the image itself, so once acknowledged it is durable; the grown area reads as zeros.
     */
    record Resize(long newSize, long issuedAt, long ackedAt) implements GuestEvent {
    }
}
