package io.jblk.tests.reliability;

import io.jblk.nativeio.HostFile;
import io.jblk.nativeio.HostFileOpener;
import io.jblk.nativeio.HostFileOptions;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Opens every host file through a {@link RecordingHostFile} sharing one {@link HostOpLog}, and remembers each file's
 * content as it was before the first open (its baseline): baseline + log = every state the files passed through.
 */
public final class RecordingHostFileOpener implements HostFileOpener {
    private final HostFileOpener delegate;
    private final HostOpLog log = new HostOpLog();
    private final Map<Path, SparseBytes> baselines = new LinkedHashMap<>();

    public RecordingHostFileOpener() {
        this(HostFileOpener.DEFAULT);
    }

    public RecordingHostFileOpener(HostFileOpener delegate) {
        this.delegate = delegate;
    }

    /**
     * Files opened read-only (a backing image, which a qcow2 overlay opens through the same opener) cannot change:
     * they are passed through unrecorded, so crash states do not copy them.
     */
    @Override
    public HostFile open(Path path, HostFileOptions options) throws IOException {
        if (options.readOnly()) {
            return delegate.open(path, options);
        }
        Path key = path.toAbsolutePath().normalize();
        synchronized (baselines) {
            if (!baselines.containsKey(key)) {
                baselines.put(key, Files.exists(key) ? SparseBytes.load(key) : new SparseBytes());
            }
        }
        return new RecordingHostFile(delegate.open(path, options), log, key);
    }

    public HostOpLog log() {
        return log;
    }

    /** The content of each file opened so far, as it was before its first open. */
    public Map<Path, SparseBytes> baselines() {
        synchronized (baselines) {
            return Map.copyOf(baselines);
        }
    }

    /**
     * Makes the files' current content the new baseline and empties the log, so that enumeration starts after a
     * setup phase (image creation, a first write) that is not under test.
     */
    public void rebase() throws IOException {
        synchronized (baselines) {
            for (Path path : List.copyOf(baselines.keySet())) {
                baselines.put(path, Files.exists(path) ? SparseBytes.load(path) : new SparseBytes());
            }
            log.clear();
        }
    }
}
