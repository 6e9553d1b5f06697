package io.jblk.nativeio;

/**
 * What jblk reads from statx(2) on an open file.
 *
 * @param size            st_size in bytes
 * @param blocks          st_blocks, in 512-byte units whatever the filesystem block size
 * @param identity        device and inode, naming the file independently of its path
 * @param dioMemAlign     O_DIRECT buffer address alignment, 0 when the kernel did not say (STATX_DIOALIGN, Linux 6.1+)
 * @param dioOffsetAlign  O_DIRECT offset and length alignment, 0 when the kernel did not say
 */
record FileStat(long size, long blocks, String identity, int dioMemAlign, int dioOffsetAlign) {
}
