package io.jblk.tests.reliability;

import io.jblk.nativeio.HostFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A host file that passes every call to another: the base of the recording and fault-injecting decorators. */
abstract class ForwardingHostFile implements HostFile {
    protected final HostFile delegate;

    protected ForwardingHostFile(HostFile delegate) {
        this.delegate = delegate;
    }

    @Override
    public Path path() {
        return delegate.path();
    }

    @Override
    public boolean isReadOnly() {
        return delegate.isReadOnly();
    }

    @Override
    public boolean isDirect() {
        return delegate.isDirect();
    }

    @Override
    public int alignment() {
        return delegate.alignment();
    }

    @Override
    public long size() throws IOException {
        return delegate.size();
    }

    @Override
    public long allocatedBytes() throws IOException {
        return delegate.allocatedBytes();
    }

    @Override
    public CompletableFuture<Long> read(long offset, MemorySegment dst) {
        return delegate.read(offset, dst);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment src) {
        return delegate.write(offset, src);
    }

    @Override
    public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
        return delegate.write(offset, srcs);
    }

    @Override
    public CompletableFuture<Void> zeroRange(long offset, long length) {
        return delegate.zeroRange(offset, length);
    }

    @Override
    public CompletableFuture<Void> punchHole(long offset, long length) {
        return delegate.punchHole(offset, length);
    }

    @Override
    public CompletableFuture<Void> flush() {
        return delegate.flush();
    }

    @Override
    public void truncate(long size) throws IOException {
        delegate.truncate(size);
    }

    @Override
    public long nextData(long offset) throws IOException {
        return delegate.nextData(offset);
    }

    @Override
    public long nextHole(long offset) throws IOException {
        return delegate.nextHole(offset);
    }

    @Override
    public String engineName() {
        return delegate.engineName();
    }

    @Override
    public String engineFallbackCause() {
        return delegate.engineFallbackCause();
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
