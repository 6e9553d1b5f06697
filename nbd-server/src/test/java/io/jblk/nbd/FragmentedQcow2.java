package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The worst case for block status: a qcow2 image (extended L2 entries, 16 KiB clusters, so 512-byte subclusters)
 * in which every subcluster differs from its neighbours: even subclusters read as zeros stored in this image, odd
 * ones are unallocated. Every 512 bytes starts a new extent (for {@code qemu:allocation-depth} a new descriptor), so
 * a 4 GiB request covers 8 million extents, yet the image holds no data clusters: only L2 tables (8 MiB for 8 GiB).
 *
 * <p>Built through the driver, so refcounts stay exact (qemu-img check finds nothing): one zeroed subcluster per
 * L2 table makes the driver allocate every table, then each table's entries are rewritten in the file.
 */
final class FragmentedQcow2 {
    static final int CLUSTER = 16 << 10;
    static final int SUBCLUSTER = CLUSTER / 32;
    /** Extended L2 entry: the zero bits (high 32 of the bitmap word) of the even subclusters. */
    static final long EVEN_ZERO_BITMAP = 0x5555_5555_0000_0000L;
    private static final long L1_OFFSET_MASK = 0x00ff_ffff_ffff_fe00L;

    private FragmentedQcow2() {
    }

    static Path create(Path file, long size) throws IOException {
        BlockDrivers.create(file, "qcow2", CreateOptions.builder(size).option("cluster_size", String.valueOf(CLUSTER))
                .option("extended_l2", "on").build());
        long perTable = (long) (CLUSTER / 16) * CLUSTER;
        try (BlockDevice dev = BlockDrivers.open(file, "qcow2", OpenOptions.defaults())) {
            for (long at = 0; at < size; at += perTable) {
                dev.writeZeroesBlocking(at, SUBCLUSTER, false);
            }
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer header = read(ch, 0, 48);
            int l1Size = header.getInt(36);
            long l1Offset = header.getLong(40);
            ByteBuffer l1 = read(ch, l1Offset, l1Size * 8);
            ByteBuffer table = ByteBuffer.allocate(CLUSTER);
            while (table.hasRemaining()) {
                table.putLong(0).putLong(EVEN_ZERO_BITMAP);
            }
            for (int i = 0; i < l1Size; i++) {
                long l2 = l1.getLong(i * 8) & L1_OFFSET_MASK;
                if (l2 == 0) {
                    throw new IOException("L1 entry " + i + " has no L2 table");
                }
                table.clear();
                while (table.hasRemaining()) {
                    ch.write(table, l2 + table.position());
                }
            }
            ch.force(true);
        }
        return file;
    }

    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b, at + b.position()) < 0) {
                throw new IOException("short image file");
            }
        }
        return b.flip();
    }
}
