package io.jblk.nativeio;

/**
 * How to open a {@link HostFile}.
 *
 * @param readOnly open O_RDONLY
 * @param direct   open O_DIRECT (qemu's cache=none)
 * @param engine   which I/O engine to use
 * @param create   create the file if it does not exist (O_CREAT)
 * @param lock     take an advisory lock (shared when read-only, exclusive otherwise) so two writers cannot
 *                 open the same image
 */
public record HostFileOptions(boolean readOnly, boolean direct, Engine engine, boolean create, boolean lock) {

    public HostFileOptions {
        if (engine == null) {
            throw new IllegalArgumentException("engine must be set");
        }
        if (readOnly && create) {
            throw new IllegalArgumentException("cannot create a file opened read-only");
        }
    }

    /** Read-write, page cache, automatic engine, no create, locked. */
    public static HostFileOptions defaults() {
        return new HostFileOptions(false, false, Engine.AUTO, false, true);
    }

    public HostFileOptions withReadOnly(boolean value) {
        return new HostFileOptions(value, direct, engine, create && !value, lock);
    }

    public HostFileOptions withDirect(boolean value) {
        return new HostFileOptions(readOnly, value, engine, create, lock);
    }

    public HostFileOptions withEngine(Engine value) {
        return new HostFileOptions(readOnly, direct, value, create, lock);
    }

    public HostFileOptions withCreate(boolean value) {
        return new HostFileOptions(readOnly, direct, engine, value, lock);
    }

    public HostFileOptions withLock(boolean value) {
        return new HostFileOptions(readOnly, direct, engine, create, value);
    }

    /** Host I/O engines, fastest first. */
    public enum Engine {
        /** io_uring, else threads, else FileChannel; the cause of any downgrade is kept. */
        AUTO,
        IO_URING,
        THREADS,
        /** Pure Java, no native access: what remains when FFM is not permitted. */
        FILECHANNEL
    }
}
