package io.jblk.api;

/**
 * One run of a {@link BlockDevice#blockStatus} answer, with the meaning of {@code qemu-img map --output=json}.
 *
 * @param offset     guest offset of the run
 * @param length     length in bytes
 * @param data       the run reads from stored data (not known to be zero)
 * @param zero       the run is known to read as zeros
 * @param present    the run is allocated in some layer of the backing chain (false: it falls through every layer)
 * @param depth      the layer that answered: 0 = this image, 1 = its backing file, ...; for runs that are not
 *                   present, the number of layers searched
 * @param hostOffset where the run's bytes live in the answering layer's file, or {@link #NO_OFFSET}
 * @param compressed the run is stored as compressed clusters
 */
public record Extent(long offset, long length, boolean data, boolean zero, boolean present, int depth,
                     long hostOffset, boolean compressed) {

    public static final long NO_OFFSET = -1;

    public Extent {
        if (offset < 0 || length <= 0) {
            throw new IllegalArgumentException("extent offset " + offset + " length " + length);
        }
    }

    public long end() {
        return offset + length;
    }

    public boolean hasHostOffset() {
        return hostOffset != NO_OFFSET;
    }

    /** True when {@code next} directly follows this extent and describes its bytes the same way, so the two merge. */
    public boolean canMergeWith(Extent next) {
        return next.offset == end() && next.data == data && next.zero == zero && next.present == present
                && next.depth == depth && next.compressed == compressed
                && (hasHostOffset() ? next.hostOffset == hostOffset + length : !next.hasHostOffset());
    }

    public Extent mergedWith(Extent next) {
        return new Extent(offset, length + next.length, data, zero, present, depth, hostOffset, compressed);
    }

    /** The same description moved one layer down the backing chain. */
    public Extent deeper() {
        return new Extent(offset, length, data, zero, present, depth + 1, hostOffset, compressed);
    }

    public Extent slice(long newOffset, long newLength) {
        long shift = newOffset - offset;
        return new Extent(newOffset, newLength, data, zero, present, depth,
                hasHostOffset() ? hostOffset + shift : NO_OFFSET, compressed);
    }
}
