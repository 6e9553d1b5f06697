package io.jblk.tests.reliability;

import io.jblk.nativeio.HostFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link HostFile} that records every mutating operation and every flush into a {@link HostOpLog} when it
 * completes successfully. Failed operations are not recorded: the crash enumerator treats the log as what reached
 * the file. The returned futures complete only after the entry is in the log, so a caller that observes completion
 * also observes the log entry.
 */
public final class RecordingHostFile extends ForwardingHostFile {
    private final HostOpLog log;
    private final Path key;

    /** {@code key} names the file in the log (the path the driver asked for). */
    public RecordingHostFile(HostFile delegate, HostOpLog log, Path key) {
        super(delegate);
        this.log = log;
        this.key = key;
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment src) {
        byte[] copy = src.toArray(ValueLayout.JAVA_BYTE);
        return delegate.write(offset, src).thenRun(() -> log.append(new HostOp.Write(key, offset, copy)));
    }

    @Override
    public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
        long total = 0;
        for (MemorySegment s : srcs) {
            total += s.byteSize();
        }
        byte[] copy = new byte[Math.toIntExact(total)];
        int at = 0;
        for (MemorySegment s : srcs) {
            MemorySegment.copy(s, ValueLayout.JAVA_BYTE, 0, copy, at, (int) s.byteSize());
            at += (int) s.byteSize();
        }
        return delegate.write(offset, srcs).thenRun(() -> log.append(new HostOp.Write(key, offset, copy)));
    }

    @Override
    public CompletableFuture<Void> zeroRange(long offset, long length) {
        return delegate.zeroRange(offset, length).thenRun(() -> log.append(new HostOp.ZeroRange(key, offset, length)));
    }

    @Override
    public CompletableFuture<Void> punchHole(long offset, long length) {
        return delegate.punchHole(offset, length).thenRun(() -> log.append(new HostOp.PunchHole(key, offset, length)));
    }

    @Override
    public CompletableFuture<Void> flush() {
        long issuedAt = log.tick();
        return delegate.flush().thenRun(() -> log.append(new HostOp.Flush(key, issuedAt)));
    }

    @Override
    public void truncate(long size) throws IOException {
        delegate.truncate(size);
        log.append(new HostOp.Truncate(key, size));
    }

}
