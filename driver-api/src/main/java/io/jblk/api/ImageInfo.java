package io.jblk.api;

import java.util.Map;

/**
 * What {@code qemu-img info} reports about an open image.
 *
 * @param format              format name
 * @param virtualSize         guest-visible size in bytes
 * @param clusterSize         allocation unit in bytes, 0 if the format has none
 * @param backingFilename     the backing file name as stored in the image, or null
 * @param fullBackingFilename the backing file path as resolved, or null
 * @param backingFormat       the backing format as stored, or null
 * @param dirtyFlag           the image was not closed cleanly (refcounts may be stale)
 * @param formatSpecific      qemu-img's {@code format-specific.data} keys and values, in qemu-img's order
 *                            (values: String, Boolean, Number, or nested Map/List of those)
 * @param ioEngine            the host I/O engine in use, e.g. {@code io_uring} or {@code threads}
 */
public record ImageInfo(String format, long virtualSize, long clusterSize, String backingFilename,
                        String fullBackingFilename, String backingFormat, boolean dirtyFlag,
                        Map<String, Object> formatSpecific, String ioEngine) {

    public ImageInfo {
        formatSpecific = formatSpecific == null ? Map.of() : java.util.Collections.unmodifiableMap(
                new java.util.LinkedHashMap<>(formatSpecific));
    }
}
