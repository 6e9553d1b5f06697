package io.jblk.api;

import java.util.List;

/**
 * What an {@link ImageChecker} found, with the fields of {@code qemu-img check --output=json}.
 *
 * @param corruptions        inconsistencies that may lose data (refcount too low, overlapping metadata, invalid L2
 *                           entries or subcluster bitmaps, entries past the end of the file), left unrepaired
 * @param leaks              clusters with a refcount but no reference, left unrepaired
 * @param checkErrors        problems that kept the check from completing (e.g. unreadable metadata)
 * @param corruptionsFixed   corruptions repaired by this call
 * @param leaksFixed         leaks repaired by this call
 * @param imageEndOffset     the offset just past the last used byte of the image file, 0 if unknown
 * @param totalClusters      clusters in the guest-visible disk, 0 if the format has none
 * @param allocatedClusters  of those, how many are allocated in this image
 * @param fragmentedClusters allocated clusters not contiguous with their predecessor on the host
 * @param compressedClusters allocated clusters stored compressed
 * @param messages           one line per problem found, for humans ("ERROR cluster 5 refcount=1 reference=2")
 */
public record CheckResult(long corruptions, long leaks, long checkErrors, long corruptionsFixed, long leaksFixed,
                          long imageEndOffset, long totalClusters, long allocatedClusters, long fragmentedClusters,
                          long compressedClusters, List<String> messages) {

    public CheckResult {
        messages = List.copyOf(messages == null ? List.of() : messages);
        if (corruptions < 0 || leaks < 0 || checkErrors < 0 || corruptionsFixed < 0 || leaksFixed < 0
                || imageEndOffset < 0 || totalClusters < 0 || allocatedClusters < 0 || fragmentedClusters < 0
                || compressedClusters < 0) {
            throw new IllegalArgumentException("check counts must not be negative: corruptions=" + corruptions
                    + " leaks=" + leaks + " checkErrors=" + checkErrors + " imageEndOffset=" + imageEndOffset);
        }
    }

    /** No corruptions, leaks or check errors remain. */
    public boolean isClean() {
        return corruptions == 0 && leaks == 0 && checkErrors == 0;
    }
}
