package io.jblk.tests.reliability.hostile;

import java.util.ArrayList;
import java.util.List;

/**
 * The field table of the resource-bound sweep: every header field and table entry of a qcow2 image that names an
 * offset or a count, located in small valid images built by {@link Qcow2ImageBuilder} (64 KiB and 512-byte
 * clusters, extended L2, a compressed cluster, an internal snapshot, a backing file with its format extension).
 * The sweep sets each to each of its {@link SweptField#extremeValues()}; the cases are generated, not written by
 * hand, so a field added here is swept over every value.
 */
final class FieldSweep {
    static final long COPIED = Qcow2ImageBuilder.COPIED;
    static final long COMPRESSED = Qcow2ImageBuilder.COMPRESSED;

    /** One damaged image: the field, its value, and the bytes. */
    record Case(SweptField field, long value) {
        String name() {
            return field.baseName() + ": " + field.name() + " = 0x" + Long.toHexString(value);
        }

        byte[] image() {
            return field.imageWith(value);
        }
    }

    private FieldSweep() {
    }

    static List<SweptField> fields() {
        List<SweptField> fields = new ArrayList<>();
        Qcow2Image plain = new Qcow2ImageBuilder().build();
        long c = plain.clusterSize();
        header(fields, plain, "64k", c, HeaderField.L1_TABLE_OFFSET, HeaderField.REFCOUNT_TABLE_OFFSET,
                HeaderField.SNAPSHOTS_OFFSET);
        header(fields, plain, "64k", 1, HeaderField.L1_SIZE, HeaderField.REFCOUNT_TABLE_CLUSTERS,
                HeaderField.NB_SNAPSHOTS, HeaderField.HEADER_LENGTH, HeaderField.SIZE, HeaderField.CLUSTER_BITS,
                HeaderField.REFCOUNT_ORDER);
        fields.add(new SweptField("L1 entry 0", plain, "64k", plain.l1Offset(), 8, c, 0));
        fields.add(new SweptField("L1 entry 0 (COPIED kept)", plain, "64k", plain.l1Offset(), 8, c, COPIED));
        fields.add(new SweptField("L1 entry 1 (empty)", plain, "64k", plain.l1Offset() + 8, 8, c, COPIED));
        fields.add(new SweptField("L2 entry 0", plain, "64k", plain.l2Offset(), 8, c, 0));
        fields.add(new SweptField("L2 entry 0 (COPIED kept)", plain, "64k", plain.l2Offset(), 8, c, COPIED));
        fields.add(new SweptField("L2 entry 5 (empty, COPIED kept)", plain, "64k", plain.l2Offset() + 40, 8, c,
                COPIED));
        fields.add(new SweptField("refcount table entry 0", plain, "64k", plain.refTableOffset(), 8, c, 0));
        fields.add(new SweptField("refcount table entry 1 (empty)", plain, "64k", plain.refTableOffset() + 8, 8, c,
                0));
        fields.add(new SweptField("refcount of the header", plain, "64k", plain.refBlockOffset(), 2, 1, 0));
        fields.add(new SweptField("refcount of data cluster 0", plain, "64k",
                plain.refBlockOffset() + 2 * (plain.dataOffsets().getFirst() / c), 2, 1, 0));

        Qcow2Image small = new Qcow2ImageBuilder().clusterBits(9).size(256 << 10).build();
        long s = small.clusterSize();
        header(fields, small, "512b", s, HeaderField.L1_TABLE_OFFSET, HeaderField.REFCOUNT_TABLE_OFFSET);
        header(fields, small, "512b", 1, HeaderField.L1_SIZE, HeaderField.REFCOUNT_TABLE_CLUSTERS, HeaderField.SIZE);
        fields.add(new SweptField("L1 entry 0 (COPIED kept)", small, "512b", small.l1Offset(), 8, s, COPIED));
        fields.add(new SweptField("L2 entry 0 (COPIED kept)", small, "512b", small.l2Offset(), 8, s, COPIED));
        fields.add(new SweptField("refcount table entry 0", small, "512b", small.refTableOffset(), 8, s, 0));

        Qcow2Image ext = new Qcow2ImageBuilder().extendedL2(true).build();
        long e = ext.clusterSize();
        fields.add(new SweptField("extended L2 entry 0 (COPIED kept)", ext, "ext-l2", ext.l2Offset(), 8, e, COPIED));
        fields.add(new SweptField("extended L2 entry 0 bitmap", ext, "ext-l2", ext.l2Offset() + 8, 8, 1, 0));

        Qcow2Image compressed = new Qcow2ImageBuilder().dataClusters(1).compressedClusters(1).build();
        long descriptor = compressed.l2Offset() + 8;
        fields.add(new SweptField("compressed L2 entry", compressed, "compressed", descriptor, 8, 1, 0));
        fields.add(new SweptField("compressed descriptor (COMPRESSED kept)", compressed, "compressed", descriptor, 8,
                1, COMPRESSED));

        Qcow2Image snap = new Qcow2ImageBuilder().snapshot(true).build();
        long table = snap.snapshotTableOffset();
        long snapshotL1 = Bytes.get(snap.bytes(), table, 8);
        header(fields, snap, "snapshot", snap.clusterSize(), HeaderField.SNAPSHOTS_OFFSET);
        header(fields, snap, "snapshot", 1, HeaderField.NB_SNAPSHOTS);
        fields.add(new SweptField("snapshot 0 l1_table_offset", snap, "snapshot", table, 8, snap.clusterSize(), 0));
        fields.add(new SweptField("snapshot 0 l1_size", snap, "snapshot", table + 8, 4, 1, 0));
        fields.add(new SweptField("snapshot 0 id_str_size", snap, "snapshot", table + 12, 2, 1, 0));
        fields.add(new SweptField("snapshot 0 name_size", snap, "snapshot", table + 14, 2, 1, 0));
        fields.add(new SweptField("snapshot 0 extra_data_size", snap, "snapshot", table + 36, 4, 1, 0));
        fields.add(new SweptField("snapshot 0 L1 entry 0", snap, "snapshot", snapshotL1, 8, snap.clusterSize(), 0));

        Qcow2Image backed = new Qcow2ImageBuilder().backing("base.raw", "raw").dataClusters(1).build();
        header(fields, backed, "backing", 1, HeaderField.BACKING_FILE_OFFSET, HeaderField.BACKING_FILE_SIZE);
        fields.add(new SweptField("backing format extension length", backed, "backing",
                backed.extensionsOffset() + 4, 4, 1, 0));
        return List.copyOf(fields);
    }

    /** The cases; {@code full} sweeps more values per field (-Djblk.sweep=full). */
    static List<Case> cases(boolean full) {
        List<Case> cases = new ArrayList<>();
        for (SweptField field : fields()) {
            for (long value : field.extremeValues(full)) {
                cases.add(new Case(field, value));
            }
        }
        return List.copyOf(cases);
    }

    private static void header(List<SweptField> fields, Qcow2Image base, String baseName, long alignment,
                               HeaderField... headerFields) {
        for (HeaderField f : headerFields) {
            fields.add(new SweptField(f.specName(), base, baseName, f.offset, f.width, alignment, 0));
        }
    }
}
