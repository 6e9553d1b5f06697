package io.jblk.qcow2.check;

import io.jblk.nativeio.HostFile;
import io.jblk.qcow2.format.TableLayout;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

/**
 * An on-disk table of 64-bit words (an L1 table) read one cluster at a time, front to back, and only as far as
 * the file goes: what lies beyond the end reads as zeros (empty entries), so it is never read or held in memory.
 */
final class TableWindow {
    private final HostFile file;
    private final long offset;
    private final long entriesInFile;
    private final byte[] window;
    private long windowStart = -1;

    TableWindow(HostFile file, long offset, long entries, int clusterSize, long fileSize) {
        this.file = file;
        this.offset = offset;
        long inFile = offset >= 0 && offset < fileSize ? (fileSize - offset) / 8 : 0;
        this.entriesInFile = Math.min(entries, inFile);
        this.window = new byte[(int) Math.min(clusterSize, Math.max(8, entriesInFile * 8))];
    }

    /** Entries that lie inside the file; those after them are all zero. */
    long entriesInFile() {
        return entriesInFile;
    }

    /** Entry {@code index} ({@code < entriesInFile()}); sequential calls read each cluster once. */
    long word(long index) throws IOException {
        long byteIndex = index * 8;
        int perWindow = window.length;
        long start = byteIndex / perWindow * perWindow;
        if (start != windowStart) {
            file.readBlocking(offset + start, MemorySegment.ofArray(window));
            windowStart = start;
        }
        return TableLayout.word(window, (int) ((byteIndex - start) / 8));
    }
}
