package io.jblk.api;

import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * How to open an image.
 *
 * @param readOnly      refuse writes; the file is opened read-only
 * @param cacheMode     host page cache use
 * @param ioEngine      host I/O engine
 * @param formatOptions format-specific runtime options (e.g. qcow2 {@code l2-cache-size}), passed through
 * @param lockMode      whether the image's files are locked as QEMU locks them ({@link LockMode}); default
 *                      {@link LockMode#ON}
 * @param sharedPermissions what other users may do while this one has the image open (QEMU's shared permissions);
 *                      default: everything but {@link BlockPermission#WRITE}, what QEMU gives a guest disk (a
 *                      virtio-blk device without {@code share-rw}). qemu-img and qemu-io share everything, qemu-nbd
 *                      all but resize. The format may share less ({@link BlockPermission}); ignored with
 *                      {@link LockMode#FORCE_SHARE}, which shares everything
 * @param metadataOnly  the opener only inspects metadata, as {@code qemu-img info} does: the consistent-read
 *                      permission is not taken, so the image opens even while another user refuses to share it
 * @param confinement   where backing and data files named inside the image may lie ({@link FileConfinement#NONE}:
 *                      anywhere, as QEMU)
 * @param formatProbed  the format was guessed from the file's first bytes ({@link BlockDrivers#open} with no
 *                      format sets it): a raw image then refuses writes that would make it probe as another format
 */
public record OpenOptions(boolean readOnly, CacheMode cacheMode, IoEngineKind ioEngine,
                          Map<String, String> formatOptions, LockMode lockMode,
                          Set<BlockPermission> sharedPermissions, boolean metadataOnly,
                          FileConfinement confinement, boolean formatProbed) {

    /** What an open shares unless told otherwise: everything but write, as QEMU's guest disks. */
    public static final Set<BlockPermission> DEFAULT_SHARED =
            Collections.unmodifiableSet(EnumSet.complementOf(EnumSet.of(BlockPermission.WRITE)));

    public OpenOptions {
        if (cacheMode == null || ioEngine == null || lockMode == null || sharedPermissions == null) {
            throw new IllegalArgumentException("cacheMode, ioEngine, lockMode and sharedPermissions must be set");
        }
        formatOptions = Map.copyOf(formatOptions == null ? Map.of() : formatOptions);
        sharedPermissions = Collections.unmodifiableSet(sharedPermissions.isEmpty()
                ? EnumSet.noneOf(BlockPermission.class) : EnumSet.copyOf(sharedPermissions));
        confinement = confinement == null ? FileConfinement.NONE : confinement;
    }

    public static OpenOptions defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder().readOnly(readOnly).cacheMode(cacheMode).ioEngine(ioEngine).lockMode(lockMode)
                .sharedPermissions(sharedPermissions).metadataOnly(metadataOnly)
                .confinement(confinement)
                .formatProbed(formatProbed);
        b.formatOptions.putAll(formatOptions);
        return b;
    }

    /** The option's value, or {@code fallback} when unset. */
    public String formatOption(String name, String fallback) {
        return formatOptions.getOrDefault(name, fallback);
    }

    public static final class Builder {
        private boolean readOnly;
        private CacheMode cacheMode = CacheMode.WRITEBACK;
        private IoEngineKind ioEngine = IoEngineKind.AUTO;
        private final Map<String, String> formatOptions = new LinkedHashMap<>();
        private LockMode lockMode = LockMode.ON;
        private Set<BlockPermission> sharedPermissions = DEFAULT_SHARED;
        private boolean metadataOnly;
        private FileConfinement confinement = FileConfinement.NONE;
        private boolean formatProbed;

        public Builder readOnly(boolean value) {
            this.readOnly = value;
            return this;
        }

        public Builder cacheMode(CacheMode value) {
            this.cacheMode = value;
            return this;
        }

        public Builder ioEngine(IoEngineKind value) {
            this.ioEngine = value;
            return this;
        }

        public Builder formatOption(String name, String value) {
            formatOptions.put(name, value);
            return this;
        }

        public Builder lockMode(LockMode value) {
            this.lockMode = value;
            return this;
        }

        /** What other users may do while this one has the image open; see {@link OpenOptions#sharedPermissions}. */
        public Builder sharedPermissions(Set<BlockPermission> value) {
            this.sharedPermissions = value;
            return this;
        }

        public Builder metadataOnly(boolean value) {
            this.metadataOnly = value;
            return this;
        }

        /** Where backing and data files named inside the image may lie. */
        public Builder confinement(FileConfinement value) {
            this.confinement = value;
            return this;
        }

        /** Marks the format as guessed by probing (see {@link OpenOptions#formatProbed()}). */
        public Builder formatProbed(boolean value) {
            this.formatProbed = value;
            return this;
        }

        public OpenOptions build() {
            return new OpenOptions(readOnly, cacheMode, ioEngine, formatOptions, lockMode, sharedPermissions,
                    metadataOnly, confinement, formatProbed);
        }
    }
}
