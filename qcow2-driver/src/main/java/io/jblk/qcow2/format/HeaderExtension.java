package io.jblk.qcow2.format;

/** A header extension kept as raw bytes (unknown ones, and bitmaps, which jblk preserves but does not interpret). */
public record HeaderExtension(int type, byte[] data) {
    public static final int END = 0;
    public static final int BACKING_FORMAT = 0xe2792aca;
    public static final int FEATURE_TABLE = 0x6803f857;
    public static final int BITMAPS = 0x23852875;
    public static final int CRYPTO = 0x0537be77;
    public static final int DATA_FILE = 0x44415441;

    public HeaderExtension {
        data = data.clone();
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    /** Bytes the extension takes in the header cluster: type, length, data padded to 8. */
    public int encodedLength() {
        return 8 + ((data.length + 7) & ~7);
    }
}
