package io.jblk.tests.reliability;

import java.nio.file.Path;

/**
 * One host-file operation as a {@link RecordingHostFile} saw it complete. Data is copied at submission, so the log
 * holds exactly the bytes the driver asked to write.
 */
public sealed interface HostOp {

    /** The host file the operation went to. */
    Path path();

    /** Whether the operation changes file contents or size (everything but a flush). */
    default boolean mutates() {
        return !(this instanceof Flush);
    }

    record Write(Path path, long offset, byte[] data) implements HostOp {
        @Override
        public String toString() {
            return "write " + path.getFileName() + " @" + offset + "+" + data.length;
        }
    }

    record ZeroRange(Path path, long offset, long length) implements HostOp {
        @Override
        public String toString() {
            return "zero " + path.getFileName() + " @" + offset + "+" + length;
        }
    }

    record PunchHole(Path path, long offset, long length) implements HostOp {
        @Override
        public String toString() {
            return "punch " + path.getFileName() + " @" + offset + "+" + length;
        }
    }

    record Truncate(Path path, long size) implements HostOp {
        @Override
        public String toString() {
            return "truncate " + path.getFileName() + " to " + size;
        }
    }

    /**
     * An fdatasync that completed. It covers every operation on the same file that completed before it was issued,
     * i.e. whose {@link HostOpLog.Entry#time()} is below {@code issuedAt}.
     */
    record Flush(Path path, long issuedAt) implements HostOp {
        @Override
        public String toString() {
            return "flush " + path.getFileName() + " (issued at t" + issuedAt + ")";
        }
    }
}
