package io.jblk.tests.reliability.hostile;

import io.jblk.tests.reliability.hostile.HostileCase.Jblk;
import io.jblk.tests.reliability.hostile.HostileCase.Qemu;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

/**
 * The hostile-image corpus: valid generated images with one structure damaged each. Only this generator is checked
 * in; the images are rebuilt by every run.
 */
public final class HostileCorpus {
    private static final long TB = 1L << 40;

    private HostileCorpus() {
    }

    public static List<HostileCase> cases() {
        List<HostileCase> all = new ArrayList<>();
        Qcow2Image plain = new Qcow2ImageBuilder().build();
        Qcow2Image ext = new Qcow2ImageBuilder().extendedL2(true).build();
        Qcow2Image compressed = new Qcow2ImageBuilder().dataClusters(1).compressedClusters(1).build();
        Qcow2Image extCompressed = new Qcow2ImageBuilder().extendedL2(true).dataClusters(1).compressedClusters(1)
                .build();
        Qcow2Image snap = new Qcow2ImageBuilder().snapshot(true).build();
        int c = plain.clusterSize();

        // header fields
        all.add(header(plain, "magic", HeaderField.MAGIC, 0x51464900L, Qemu.REFUSES_OPEN, "magic"));
        all.add(header(plain, "version-1", HeaderField.VERSION, 1, Qemu.REFUSES_OPEN, "version"));
        all.add(header(plain, "version-4", HeaderField.VERSION, 4, Qemu.REFUSES_OPEN, "version"));
        for (long bits : new long[] {8, 22, 0xffffffffL}) {
            all.add(header(plain, "cluster-bits-" + bits, HeaderField.CLUSTER_BITS, bits, Qemu.REFUSES_OPEN,
                    "cluster_bits", "cluster size"));
        }
        Qcow2Image small = new Qcow2ImageBuilder().clusterBits(13).build();
        all.add(mutate(small, "extended-l2-on-8k-clusters", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN,
                b -> Bytes.put(b, HeaderField.INCOMPATIBLE_FEATURES, Qcow2ImageBuilder.INCOMPAT_EXTENDED_L2),
                "subcluster", "extended_l2", "cluster_bits", "cluster size"));
        long l1Capacity = (long) c / 8 * c; // one L1 entry × one L2 table of 64K clusters
        all.add(header(plain, "size-beyond-l1", HeaderField.SIZE, l1Capacity + c, Qemu.REFUSES_OPEN, "l1", "size"));
        all.add(header(plain, "size-2^63-1", HeaderField.SIZE, Long.MAX_VALUE, Qemu.REFUSES_OPEN, "size"));
        all.add(header(plain, "l1-size-huge", HeaderField.L1_SIZE, 0x400001, Qemu.REFUSES_OPEN, "l1"));
        all.add(header(plain, "l1-size-negative", HeaderField.L1_SIZE, 0x80000000L, Qemu.REFUSES_OPEN, "l1"));
        all.add(header(plain, "l1-offset-unaligned", HeaderField.L1_TABLE_OFFSET, plain.l1Offset() + 0x200,
                Qemu.REFUSES_OPEN, "l1"));
        all.add(mutate(plain, "l1-offset-past-eof", Qemu.CHECK_REPORTS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, HeaderField.L1_TABLE_OFFSET, TB), "l1"));
        all.add(mutate(plain, "l1-offset-in-header", Qemu.CHECK_REPORTS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, HeaderField.L1_TABLE_OFFSET, 0), "l1", "header", "overlap"));
        all.add(header(plain, "refcount-table-offset-unaligned", HeaderField.REFCOUNT_TABLE_OFFSET,
                plain.refTableOffset() + 0x200, Qemu.REFUSES_OPEN, "refcount"));
        all.add(mutate(plain, "refcount-table-past-eof", Qemu.CHECK_REPORTS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, HeaderField.REFCOUNT_TABLE_OFFSET, TB), "refcount"));
        all.add(mutate(plain, "refcount-table-in-header", Qemu.CHECK_REPORTS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, HeaderField.REFCOUNT_TABLE_OFFSET, 0), "refcount", "header", "overlap"));
        all.add(header(plain, "refcount-table-clusters-0", HeaderField.REFCOUNT_TABLE_CLUSTERS, 0, Qemu.REFUSES_OPEN,
                "refcount"));
        all.add(header(plain, "refcount-table-clusters-huge", HeaderField.REFCOUNT_TABLE_CLUSTERS, 0x100000,
                Qemu.REFUSES_OPEN, "refcount"));
        all.add(header(plain, "refcount-order-7", HeaderField.REFCOUNT_ORDER, 7, Qemu.REFUSES_OPEN, "refcount"));
        all.add(header(plain, "header-length-100", HeaderField.HEADER_LENGTH, 100, Qemu.REFUSES_OPEN, "header"));
        all.add(header(plain, "header-length-past-cluster", HeaderField.HEADER_LENGTH, c + 1, Qemu.REFUSES_OPEN,
                "header"));
        all.add(header(plain, "incompatible-bit-5", HeaderField.INCOMPATIBLE_FEATURES, 1L << 5, Qemu.REFUSES_OPEN,
                "incompatible", "feature"));
        all.add(header(plain, "incompatible-bit-63", HeaderField.INCOMPATIBLE_FEATURES, 1L << 63, Qemu.REFUSES_OPEN,
                "incompatible", "feature"));
        all.add(header(plain, "compression-type-without-bit", HeaderField.COMPRESSION_TYPE, 1, Qemu.REFUSES_OPEN,
                "compression"));
        all.add(header(plain, "crypt-method-3", HeaderField.CRYPT_METHOD, 3, Qemu.REFUSES_OPEN, "crypt",
                "encryption"));
        all.add(mutate(plain, "data-file-bit-without-name", Qemu.READ_FAILS, Jblk.REFUSE_OPEN,
                b -> Bytes.put(b, HeaderField.INCOMPATIBLE_FEATURES, 1L << 2), "data file", "data_file",
                "incompatible_features"));
        all.add(header(plain, "nb-snapshots-65537", HeaderField.NB_SNAPSHOTS, 65537, Qemu.REFUSES_OPEN,
                "snapshot"));
        all.add(header(snap, "snapshots-offset-unaligned", HeaderField.SNAPSHOTS_OFFSET,
                snap.snapshotTableOffset() + 0x200, Qemu.REFUSES_OPEN, "snapshot"));
        all.add(mutate(snap, "snapshot-l1-size-huge", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, snap.snapshotTableOffset() + 8, 4, 0x7fffffffL), "snapshot"));
        // found by fuzzing: a snapshot's L1 offset with the top bit set reaches the host read as a negative offset
        all.add(mutate(snap, "snapshot-l1-offset-negative", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, snap.snapshotTableOffset(), 8, 0x9e00_0000_0000_0000L), "snapshot"));
        all.add(mutate(plain, "corrupt-bit", Qemu.READ_WRITE_REFUSED, Jblk.REFUSE_READ_WRITE,
                b -> Bytes.put(b, HeaderField.INCOMPATIBLE_FEATURES, 1L << 1), "corrupt"));

        // header extensions and the backing name
        all.add(mutate(plain, "extension-length-huge", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN, b -> {
            Bytes.put(b, plain.extensionsOffset(), 4, 0x12345678);
            Bytes.put(b, plain.extensionsOffset() + 4, 4, 0x7fffffffL);
        }, "extension"));
        all.add(mutate(plain, "extension-length-past-cluster", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN, b -> {
            Bytes.put(b, plain.extensionsOffset(), 4, 0x12345678);
            Bytes.put(b, plain.extensionsOffset() + 4, 4, c - plain.extensionsOffset() - 8 + 8);
        }, "extension"));
        Qcow2Image backed = new Qcow2ImageBuilder().backing("base.raw", "raw").dataClusters(1).build();
        all.add(mutate(backed, "backing-name-1024", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN, b -> {
            byte[] name = new byte[1024];
            Arrays.fill(name, (byte) 'a');
            System.arraycopy(name, 0, b, 1024, name.length);
            Bytes.put(b, HeaderField.BACKING_FILE_OFFSET, 1024);
            Bytes.put(b, HeaderField.BACKING_FILE_SIZE, 1024);
        }, "backing"));
        // found by fuzzing: a backing_file_size with bit 31 set is negative as a Java int
        all.add(mutate(backed, "backing-size-negative", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN,
                b -> Bytes.put(b, HeaderField.BACKING_FILE_SIZE, 0xff920000L), "backing"));
        all.add(mutate(backed, "backing-offset-past-cluster", Qemu.REFUSES_OPEN, Jblk.REFUSE_OPEN,
                b -> Bytes.put(b, HeaderField.BACKING_FILE_OFFSET, c + 1), "backing"));
        all.add(new HostileCase("backing-self", List.of("backing", "loop", "itself"), Qemu.NOT_RUN, Jblk.REFUSE_OPEN,
                dir -> new Qcow2ImageBuilder().backing("backing-self.qcow2", "qcow2").dataClusters(1).build()
                        .writeTo(dir.resolve("backing-self.qcow2"))));
        all.add(new HostileCase("backing-loop-a-b-a", List.of("backing", "loop", "chain"), Qemu.NOT_RUN,
                Jblk.REFUSE_OPEN, dir -> {
                    new Qcow2ImageBuilder().backing("loop-a.qcow2", "qcow2").dataClusters(1).build()
                            .writeTo(dir.resolve("loop-b.qcow2"));
                    return new Qcow2ImageBuilder().backing("loop-b.qcow2", "qcow2").dataClusters(1).build()
                            .writeTo(dir.resolve("loop-a.qcow2"));
                }));

        // L1 and L2 entries
        long data0 = plain.dataOffsets().getFirst();
        all.add(mutate(plain, "l1-entry-unaligned", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, plain.l1Offset(), 8, (plain.l2Offset() + 0x200) | Qcow2ImageBuilder.COPIED),
                "l2", "l1", "unaligned"));
        all.add(mutate(plain, "l1-entry-past-eof", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, plain.l1Offset(), 8, TB | Qcow2ImageBuilder.COPIED), "l2", "l1"));
        all.add(mutate(plain, "l2-entry-unaligned", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, plain.l2Offset(), 8, (data0 + 0x200) | Qcow2ImageBuilder.COPIED),
                "l2", "unaligned", "cluster"));
        all.add(mutate(plain, "l2-entry-past-eof", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, plain.l2Offset(), 8, TB | Qcow2ImageBuilder.COPIED), "l2", "cluster"));
        all.add(mutate(plain, "l2-entry-into-refcount-table", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, plain.l2Offset(), 8, plain.refTableOffset() | Qcow2ImageBuilder.COPIED),
                "l2", "metadata", "overlap"));
        all.add(mutate(plain, "refcount-entry-into-l1", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, plain.refTableOffset(), 8, plain.l1Offset()), "refcount"));

        // extended L2 bitmaps
        all.add(mutate(ext, "ext-l2-alloc-and-zero", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, ext.l2Offset() + 8, 8, 0x00000001_ffffffffL), "subcluster", "bitmap", "l2"));
        all.add(mutate(ext, "ext-l2-unallocated-with-alloc-bits", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ, b -> {
            Bytes.put(b, ext.l2Offset() + 16, 8, 0);
            Bytes.put(b, ext.l2Offset() + 16 + 8, 8, 1);
        }, "subcluster", "bitmap", "l2"));
        all.add(mutate(ext, "ext-l2-bit0-set", Qemu.TOLERATES, Jblk.NO_CRASH,
                b -> Bytes.put(b, ext.l2Offset(), 8, ext.dataOffsets().getFirst() | Qcow2ImageBuilder.COPIED | 1),
                "l2"));
        all.add(mutate(extCompressed, "ext-l2-compressed-with-bitmap", Qemu.CHECK_REPORTS, Jblk.NO_CRASH,
                b -> Bytes.put(b, extCompressed.l2Offset() + 16 + 8, 8, 0xffL), "compress", "bitmap"));

        // compressed clusters
        int offsetBits = 62 - (compressed.clusterBits() - 8);
        all.add(mutate(compressed, "compressed-past-eof", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ,
                b -> Bytes.put(b, compressed.l2Offset() + 8, 8, Qcow2ImageBuilder.COMPRESSED | TB),
                "compress", "end of file", "eof"));
        all.add(mutate(compressed, "compressed-garbage-stream", Qemu.READ_FAILS, Jblk.FAIL_OPEN_OR_READ, b -> {
            long at = compressed.compressedOffsets().getFirst();
            for (int i = 0; i < compressed.compressedLengths().getFirst(); i++) {
                b[(int) at + i] = (byte) (0xff - i);
            }
        }, "compress", "deflate", "inflate"));
        all.add(mutate(compressed, "compressed-larger-than-cluster", Qemu.TOLERATES, Jblk.NO_CRASH, b -> {
            byte[] twice = new byte[2 * c];
            Arrays.fill(twice, (byte) 0x77);
            byte[] payload = Qcow2ImageBuilder.deflate(twice);
            long at = compressed.compressedOffsets().getFirst();
            System.arraycopy(payload, 0, b, (int) at, payload.length);
            long extra = ((at + payload.length - 1) >> 9) - (at >> 9);
            Bytes.put(b, compressed.l2Offset() + 8, 8, Qcow2ImageBuilder.COMPRESSED | (extra << offsetBits) | at);
        }, "compress"));
        all.add(mutate(compressed, "compressed-sectors-past-eof", Qemu.CHECK_REPORTS, Jblk.NO_CRASH, b -> {
            long at = compressed.compressedOffsets().getFirst();
            long maxExtra = (1L << (62 - offsetBits)) - 1;
            Bytes.put(b, compressed.l2Offset() + 8, 8, Qcow2ImageBuilder.COMPRESSED | (maxExtra << offsetBits) | at);
        }, "compress", "end of file", "eof"));
        return List.copyOf(all);
    }

    private static HostileCase header(Qcow2Image base, String name, HeaderField field, long value, Qemu qemu,
                                      String... keywords) {
        List<String> words = new ArrayList<>(List.of(keywords));
        words.add(field.specName());
        return mutate(base, name, qemu, Jblk.REFUSE_OPEN, b -> Bytes.put(b, field, value),
                words.toArray(String[]::new));
    }

    private static HostileCase mutate(Qcow2Image base, String name, Qemu qemu, Jblk jblk, Consumer<byte[]> poke,
                                      String... keywords) {
        return new HostileCase(name, List.of(keywords), qemu, jblk, dir -> {
            byte[] bytes = base.copyBytes();
            poke.accept(bytes);
            Files.write(dir.resolve("base.raw"), new byte[1 << 20]); // for the cases with a backing file
            Path image = dir.resolve(name + ".qcow2");
            Files.write(image, bytes);
            return image;
        });
    }
}
