package io.jblk.nativeio;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The engine of last resort: positional {@link FileChannel} I/O with no native access at all. It runs each request
 * synchronously on the calling thread (drivers call from virtual threads), zeroes by writing zeros and cannot punch
 * holes or use O_DIRECT.
 */
final class ChannelHostFile implements HostFile {
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROS = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();

    private final Path path;
    private final boolean readOnly;
    private final FileChannel channel;
    /** The image lock's bytes, or null when not locked. */
    private final ChannelByteLocks locks;
    private final String fallbackCause;

    private ChannelHostFile(Path path, boolean readOnly, FileChannel channel, ChannelByteLocks locks,
                            String fallbackCause) {
        this.path = path;
        this.readOnly = readOnly;
        this.channel = channel;
        this.locks = locks;
        this.fallbackCause = fallbackCause;
    }

    static ChannelHostFile open(Path path, HostFileOptions options, String fallbackCause) throws IOException {
        Set<StandardOpenOption> modes = EnumSet.of(StandardOpenOption.READ);
        if (!options.readOnly()) {
            modes.add(StandardOpenOption.WRITE);
        }
        if (options.create()) {
            modes.add(StandardOpenOption.CREATE);
        }
        FileChannel channel = FileChannel.open(path, modes);
        ChannelByteLocks locks = null;
        if (options.lock() != null) {
            try {
                locks = ChannelByteLocks.open(path);
                new PermissionLock(path, locks).change(options.lock());
            } catch (IOException | RuntimeException e) {
                try {
                    if (locks != null) {
                        locks.close(channel);
                    } else {
                        channel.close();
                    }
                } catch (IOException | RuntimeException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }
        return new ChannelHostFile(path, options.readOnly(), channel, locks, fallbackCause);
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public boolean isDirect() {
        return false;
    }

    @Override
    public int alignment() {
        return 1;
    }

    @Override
    public long size() throws IOException {
        return channel.size();
    }

    @Override
    public long allocatedBytes() throws IOException {
        // Pure Java cannot see st_blocks; the logical size is the honest upper bound.
        return channel.size();
    }

    @Override
    public CompletableFuture<Long> read(long offset, MemorySegment dst) {
        try {
            ByteBuffer buffer = dst.asByteBuffer();
            long total = 0;
            while (buffer.hasRemaining()) {
                int n = channel.read(buffer, offset + total);
                if (n < 0) {
                    break;
                }
                total += n;
            }
            if (total < dst.byteSize()) {
                dst.asSlice(total).fill((byte) 0);
            }
            return CompletableFuture.completedFuture(total);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(annotate("read", offset, dst.byteSize(), e));
        }
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment src) {
        return write(offset, List.of(src));
    }

    @Override
    public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
        long position = offset;
        try {
            for (MemorySegment src : srcs) {
                writeFully(src.asByteBuffer(), position);
                position += src.byteSize();
            }
            return CompletableFuture.completedFuture(null);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(annotate("write", position, 0, e));
        }
    }

    private void writeFully(ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            at += channel.write(buffer, at);
        }
    }

    @Override
    public CompletableFuture<Void> zeroRange(long offset, long length) {
        try {
            long done = 0;
            while (done < length) {
                int n = (int) Math.min(ZERO_CHUNK, length - done);
                writeFully(ZEROS.duplicate().limit(n), offset + done);
                done += n;
            }
            return CompletableFuture.completedFuture(null);
        } catch (IOException | RuntimeException e) {
            return CompletableFuture.failedFuture(annotate("zero", offset, length, e));
        }
    }

    @Override
    public CompletableFuture<Void> punchHole(long offset, long length) {
        try {
            long end = Math.min(offset + length, channel.size());
            return end > offset ? zeroRange(offset, end - offset) : CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(annotate("punch", offset, length, e));
        }
    }

    @Override
    public CompletableFuture<Void> flush() {
        try {
            channel.force(false);
            return CompletableFuture.completedFuture(null);
        } catch (IOException e) {
            return CompletableFuture.failedFuture(annotate("fdatasync", 0, 0, e));
        }
    }

    @Override
    public void truncate(long size) throws IOException {
        long current = channel.size();
        if (size < current) {
            channel.truncate(size);
        } else if (size > current) {
            // FileChannel cannot grow a file sparsely except by writing its last byte.
            writeFully(ByteBuffer.allocate(1), size - 1);
        }
    }

    @Override
    public long nextData(long offset) throws IOException {
        return offset < channel.size() ? offset : -1;
    }

    @Override
    public long nextHole(long offset) throws IOException {
        return Math.max(offset, channel.size());
    }

    @Override
    public String engineName() {
        return "filechannel";
    }

    @Override
    public String engineFallbackCause() {
        return fallbackCause;
    }

    @Override
    public void close() throws IOException {
        if (channel.isOpen()) {
            if (locks != null) {
                locks.close(channel);
            } else {
                channel.close();
                ChannelByteLocks.afterUnlockedClose(path);
            }
        }
    }

    private IOException annotate(String op, long offset, long length, Exception e) {
        if (e instanceof java.nio.channels.ClosedChannelException) {
            return new FileClosedException(op + " at offset " + offset, path);
        }
        return new IOException(op + " of " + length + " bytes at offset " + offset + " in " + path + " failed: "
                + e.getMessage(), e);
    }

    @Override
    public String toString() {
        return "HostFile[" + path + ", filechannel]";
    }

}
