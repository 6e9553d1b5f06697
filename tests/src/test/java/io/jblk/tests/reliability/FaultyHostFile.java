package io.jblk.tests.reliability;

import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link HostFile} that fails the operations its {@link FaultPlan} selects, the way Linux does: EIO or ENOSPC
 * from a write, read or fdatasync, a write that got only partly to the file, an fdatasync that keeps failing.
 */
public final class FaultyHostFile extends ForwardingHostFile {
    private final FaultPlan plan;

    public FaultyHostFile(HostFile delegate, FaultPlan plan) {
        super(delegate);
        this.plan = plan;
    }

    /** An opener that wraps every file it opens. */
    public static HostFileOpener opener(HostFileOpener delegate, FaultPlan plan) {
        return (path, options) -> new FaultyHostFile(delegate.open(path, options), plan);
    }

    private FaultPlan.Rule trip(FaultPlan.Kind kind, String what) {
        return plan.next(kind, delegate.path(), what);
    }

    private static <T> CompletableFuture<T> failed(FaultPlan.Rule rule, String what) {
        return CompletableFuture.failedFuture(new InjectedFault(rule.errno(), what));
    }

    @Override
    public CompletableFuture<Long> read(long offset, MemorySegment dst) {
        String what = "read @" + offset + "+" + dst.byteSize() + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.READ, what);
        return rule == null ? delegate.read(offset, dst) : failed(rule, what);
    }

    @Override
    public CompletableFuture<Void> write(long offset, MemorySegment src) {
        String what = "write @" + offset + "+" + src.byteSize() + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.WRITE, what);
        if (rule == null) {
            return delegate.write(offset, src);
        }
        if (rule.effect() == FaultPlan.Effect.SHORT_WRITE) {
            long part = (src.byteSize() / 2) & ~511L;
            CompletableFuture<Void> partial = part == 0 ? CompletableFuture.completedFuture(null)
                    : delegate.write(offset, src.asSlice(0, part));
            return partial.thenCompose(v -> failed(rule, what + " (short: " + part + " bytes written)"));
        }
        return failed(rule, what);
    }

    @Override
    public CompletableFuture<Void> write(long offset, List<MemorySegment> srcs) {
        long total = srcs.stream().mapToLong(MemorySegment::byteSize).sum();
        if (srcs.size() == 1) {
            return write(offset, srcs.getFirst());
        }
        String what = "writev @" + offset + "+" + total + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.WRITE, what);
        if (rule == null) {
            return delegate.write(offset, srcs);
        }
        if (rule.effect() == FaultPlan.Effect.SHORT_WRITE && !srcs.isEmpty()) {
            return delegate.write(offset, srcs.getFirst()).thenCompose(v -> failed(rule, what + " (short)"));
        }
        return failed(rule, what);
    }

    @Override
    public CompletableFuture<Void> zeroRange(long offset, long length) {
        String what = "zero-range @" + offset + "+" + length + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.ZERO, what);
        return rule == null ? delegate.zeroRange(offset, length) : failed(rule, what);
    }

    @Override
    public CompletableFuture<Void> punchHole(long offset, long length) {
        String what = "punch-hole @" + offset + "+" + length + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.PUNCH, what);
        return rule == null ? delegate.punchHole(offset, length) : failed(rule, what);
    }

    @Override
    public CompletableFuture<Void> flush() {
        String what = "fdatasync of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.FLUSH, what);
        return rule == null ? delegate.flush() : failed(rule, what);
    }

    @Override
    public void truncate(long size) throws IOException {
        String what = "truncate to " + size + " of " + delegate.path().getFileName();
        FaultPlan.Rule rule = trip(FaultPlan.Kind.TRUNCATE, what);
        if (rule != null) {
            throw new InjectedFault(rule.errno(), what);
        }
        delegate.truncate(size);
    }

}
