package io.jblk.tests.reliability;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * An in-memory file: a size plus the 4 KiB pages that hold non-zero bytes. Crash states are built here and written
 * out sparsely, so materialising thousands of them costs only the pages that hold data.
 */
public final class SparseBytes {
    static final int PAGE = 4096;
    private final Map<Long, byte[]> pages;
    private long size;

    public SparseBytes() {
        this(new HashMap<>(), 0);
    }

    private SparseBytes(Map<Long, byte[]> pages, long size) {
        this.pages = pages;
        this.size = size;
    }

    /** Reads a file, keeping only its non-zero pages. */
    public static SparseBytes load(Path path) throws IOException {
        SparseBytes result = new SparseBytes();
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
            result.size = channel.size();
            ByteBuffer buffer = ByteBuffer.allocate(PAGE);
            for (long page = 0; page * PAGE < result.size; page++) {
                buffer.clear();
                while (buffer.hasRemaining() && channel.read(buffer, page * PAGE + buffer.position()) > 0) {
                    // a short read is not the end of the file
                }
                byte[] bytes = Arrays.copyOf(buffer.array(), PAGE);
                if (!isZero(bytes, 0, PAGE)) {
                    result.pages.put(page, bytes);
                }
            }
        }
        return result;
    }

    /** A deep copy (pages are copied lazily on write). */
    public SparseBytes copy() {
        Map<Long, byte[]> copy = new HashMap<>();
        pages.forEach((k, v) -> copy.put(k, v.clone()));
        return new SparseBytes(copy, size);
    }

    public long size() {
        return size;
    }

    public void write(long offset, byte[] data, int from, int length) {
        int done = 0;
        while (done < length) {
            long at = offset + done;
            long page = at / PAGE;
            int in = (int) (at % PAGE);
            int n = Math.min(PAGE - in, length - done);
            byte[] bytes = pages.get(page);
            if (bytes == null) {
                if (isZero(data, from + done, n)) {
                    done += n;
                    continue;
                }
                bytes = new byte[PAGE];
                pages.put(page, bytes);
            }
            System.arraycopy(data, from + done, bytes, in, n);
            done += n;
        }
        size = Math.max(size, offset + length);
    }

    /** Zeros {@code [offset, offset+length)}; with {@code extend} the size grows to cover the range. */
    public void zero(long offset, long length, boolean extend) {
        long end = extend ? offset + length : Math.min(offset + length, size);
        for (long at = offset; at < end; ) {
            long page = at / PAGE;
            int in = (int) (at % PAGE);
            int n = (int) Math.min(PAGE - in, end - at);
            byte[] bytes = pages.get(page);
            if (bytes != null) {
                if (n == PAGE) {
                    pages.remove(page);
                } else {
                    Arrays.fill(bytes, in, in + n, (byte) 0);
                }
            }
            at += n;
        }
        if (extend) {
            size = Math.max(size, offset + length);
        }
    }

    public void truncate(long newSize) {
        if (newSize < size) {
            zero(newSize, size - newSize, false);
        }
        size = newSize;
    }

    public byte[] read(long offset, int length) {
        byte[] out = new byte[length];
        for (int done = 0; done < length; ) {
            long at = offset + done;
            long page = at / PAGE;
            int in = (int) (at % PAGE);
            int n = Math.min(PAGE - in, length - done);
            byte[] bytes = at < size ? pages.get(page) : null;
            if (bytes != null) {
                System.arraycopy(bytes, in, out, done, n);
            }
            done += n;
        }
        int valid = (int) Math.max(0, Math.min(length, size - offset));
        Arrays.fill(out, valid, length, (byte) 0);
        return out;
    }

    /** Writes this content to a new file {@code path}, leaving holes where pages are zero. */
    public void writeTo(Path path) throws IOException {
        try (FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            for (var entry : new TreeMap<>(pages).entrySet()) {
                long at = entry.getKey() * PAGE;
                if (at >= size) {
                    continue;
                }
                ByteBuffer buffer = ByteBuffer.wrap(entry.getValue(), 0, (int) Math.min(PAGE, size - at));
                while (buffer.hasRemaining()) {
                    channel.write(buffer, at + buffer.position());
                }
            }
            channel.truncate(size);
            if (channel.size() < size) {
                // extend with a hole: a one-byte zero write at the end is the portable way
                channel.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
        }
    }

    static boolean isZero(byte[] data, int from, int length) {
        for (int i = from; i < from + length; i++) {
            if (data[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
