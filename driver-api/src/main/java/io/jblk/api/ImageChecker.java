package io.jblk.api;

import java.io.IOException;

/**
 * Consistency check and repair of an image's metadata, as {@code qemu-img check}: an optional capability that a
 * {@link BlockDevice} implements when its format has metadata worth checking (raw has none). Callers test with
 * {@code device instanceof ImageChecker}.
 *
 * <p>Checking never changes the image. Repairing needs a writable device and fixes what {@link Repair} allows; the
 * result then counts what was fixed ({@link CheckResult#leaksFixed()}, {@link CheckResult#corruptionsFixed()}) and
 * what remains. An image too damaged to inspect still yields a result, with {@link CheckResult#checkErrors()} &gt; 0.
 */
public interface ImageChecker {

    /** What {@code qemu-img check -r} may repair. */
    enum Repair {
        /** Report only. */
        NONE,
        /** Free leaked clusters ({@code -r leaks}). */
        LEAKS,
        /** Fix leaks and corruptions ({@code -r all}). */
        ALL
    }

    /** Checks, and with {@code repair} other than {@link Repair#NONE} repairs, the image. */
    CheckResult check(Repair repair) throws IOException;
}
