package io.jblk.qcow2.meta;

import io.jblk.nativeio.Await;
import io.jblk.nativeio.HostFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A write-back cache of fixed-size metadata pieces (L2 table slices, refcount blocks) keyed by host offset.
 *
 * <p>Not thread-safe: the image's metadata lock guards it. Dirty entries are written only by {@link #writeBack},
 * which the image calls in crash-safe order; eviction drops clean entries only, so the cache may exceed its capacity
 * until the next ordered flush ({@link #overCapacity()} tells the image when to run one).
 */
public final class MetadataCache {
    private final String name;
    private final HostFile file;
    private final int entryBytes;
    private final int capacity;
    private final LinkedHashMap<Long, byte[]> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Set<Long> dirty = new LinkedHashSet<>();
    private long loads;

    public MetadataCache(String name, HostFile file, int entryBytes, long capacityBytes) {
        this.name = name;
        this.file = file;
        this.entryBytes = entryBytes;
        this.capacity = (int) Math.max(2, Math.min(Integer.MAX_VALUE, capacityBytes / entryBytes));
    }

    public int entryBytes() {
        return entryBytes;
    }

    /** Number of entries this cache holds before evicting. */
    public int capacity() {
        return capacity;
    }

    /** Host reads this cache has done (tests use it to prove a slice was served from memory). */
    public long loads() {
        return loads;
    }

    /** The entry at {@code hostOffset}, loaded from the file on a miss. The caller may modify it, then mark it dirty. */
    public byte[] get(long hostOffset) throws IOException {
        byte[] entry = entries.get(hostOffset);
        if (entry == null) {
            entry = new byte[entryBytes];
            file.readBlocking(hostOffset, MemorySegment.ofArray(entry));
            loads++;
            entries.put(hostOffset, entry);
            evictClean();
        }
        return entry;
    }

    /** Installs new contents for {@code hostOffset} (a fresh table) and marks it dirty. */
    public void put(long hostOffset, byte[] content) {
        if (content.length != entryBytes) {
            throw new IllegalArgumentException(name + " entry must be " + entryBytes + " bytes, got " + content.length);
        }
        entries.put(hostOffset, content);
        dirty.add(hostOffset);
        evictClean();
    }

    public void markDirty(long hostOffset) {
        if (!entries.containsKey(hostOffset)) {
            throw new IllegalStateException(name + " entry 0x" + Long.toHexString(hostOffset) + " is not cached");
        }
        dirty.add(hostOffset);
    }

    public boolean hasDirty() {
        return !dirty.isEmpty();
    }

    public boolean overCapacity() {
        return entries.size() > capacity;
    }

    /** Forgets an entry without writing it (its cluster was freed). */
    public void discard(long hostOffset) {
        entries.remove(hostOffset);
        dirty.remove(hostOffset);
    }

    /** Forgets every entry whose offset lies in {@code [start, end)}. */
    public void discardRange(long start, long end) {
        entries.keySet().removeIf(k -> k >= start && k < end);
        dirty.removeIf(k -> k >= start && k < end);
    }

    /**
     * Writes every dirty entry (no fdatasync: ordering is the caller's). An entry stays dirty until its write has
     * succeeded, so a failed write-back is retried by the next one and never silently dropped: the caller's ordered
     * flush stops at the failure, before anything that depends on these entries is written.
     */
    public void writeBack() throws IOException {
        if (dirty.isEmpty()) {
            return;
        }
        List<Long> offsets = new ArrayList<>(dirty);
        List<java.util.concurrent.CompletableFuture<Void>> writes = new ArrayList<>();
        for (long offset : offsets) {
            byte[] copy = entries.get(offset).clone();
            writes.add(file.write(offset, MemorySegment.ofArray(copy)));
        }
        IOException failure = null;
        for (int i = 0; i < writes.size(); i++) {
            try {
                Await.await(writes.get(i));
                dirty.remove(offsets.get(i));
            } catch (IOException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
        evictClean();
    }

    private void evictClean() {
        if (entries.size() <= capacity) {
            return;
        }
        Iterator<Map.Entry<Long, byte[]>> it = entries.entrySet().iterator();
        while (entries.size() > capacity && it.hasNext()) {
            if (!dirty.contains(it.next().getKey())) {
                it.remove();
            }
        }
    }
}
