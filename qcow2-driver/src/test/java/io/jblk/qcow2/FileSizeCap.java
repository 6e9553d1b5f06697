package io.jblk.qcow2;

import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.nativeio.HostFileOptions;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Opens host files that refuse to grow past a limit: a write, zeroing or truncation that would reach beyond it fails
 * with an {@link IOException}. A test of metadata allocation passes it so that a runaway allocator (one that places
 * refcount blocks for its own refcount blocks forever) fails the test within seconds instead of filling the disk
 * until a timeout, and leaves no thread writing behind it.
 */
final class FileSizeCap implements HostFileOpener {
    private final long limit;

    FileSizeCap(long limit) {
        this.limit = limit;
    }

    @Override
    public HostFile open(Path path, HostFileOptions options) throws IOException {
        return new Capped(HostFile.open(path, options), limit);
    }

    private record Capped(HostFile file, long limit) implements HostFile {
        private IOException tooLarge(long end) {
            return new IOException(file.path() + " would grow to " + end + " bytes, past the test's limit of " + limit
                    + " (runaway allocation?)");
        }

        private <T> CompletableFuture<T> checked(long end, java.util.function.Supplier<CompletableFuture<T>> op) {
            return end > limit ? CompletableFuture.failedFuture(tooLarge(end)) : op.get();
        }

        @Override
        public CompletableFuture<Void> write(long offset, MemorySegment src) {
            return checked(offset + src.byteSize(), () -> file.write(offset, src));
        }

        @Override
        public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
            long length = srcs.stream().mapToLong(MemorySegment::byteSize).sum();
            return checked(offset + length, () -> file.write(offset, srcs));
        }

        @Override
        public CompletableFuture<Void> zeroRange(long offset, long length) {
            return checked(offset + length, () -> file.zeroRange(offset, length));
        }

        @Override
        public void truncate(long size) throws IOException {
            if (size > limit) {
                throw tooLarge(size);
            }
            file.truncate(size);
        }

        @Override
        public Path path() {
            return file.path();
        }

        @Override
        public boolean isReadOnly() {
            return file.isReadOnly();
        }

        @Override
        public boolean isDirect() {
            return file.isDirect();
        }

        @Override
        public int alignment() {
            return file.alignment();
        }

        @Override
        public long size() throws IOException {
            return file.size();
        }

        @Override
        public long allocatedBytes() throws IOException {
            return file.allocatedBytes();
        }

        @Override
        public CompletableFuture<Long> read(long offset, MemorySegment dst) {
            return file.read(offset, dst);
        }

        @Override
        public CompletableFuture<Void> punchHole(long offset, long length) {
            return file.punchHole(offset, length);
        }

        @Override
        public CompletableFuture<Void> flush() {
            return file.flush();
        }

        @Override
        public long nextData(long offset) throws IOException {
            return file.nextData(offset);
        }

        @Override
        public long nextHole(long offset) throws IOException {
            return file.nextHole(offset);
        }

        @Override
        public String engineName() {
            return file.engineName();
        }

        @Override
        public String engineFallbackCause() {
            return file.engineFallbackCause();
        }

        @Override
        public void close() throws IOException {
            file.close();
        }
    }
}
