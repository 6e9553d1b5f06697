package io.jblk.api;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.List;

/**
 * A disk-image format, discovered with {@link java.util.ServiceLoader}. Implementations must be stateless and
 * thread-safe: one instance serves every image of its format.
 */
public interface BlockDriver {

    /** The format name as qemu-img spells it ({@code "qcow2"}, {@code "raw"}). */
    String formatName();

    /**
     * How sure this driver is that a file starting with {@code header} is in its format: 0 = not at all,
     * 1 = would accept anything (raw), 100 = matched a magic number. {@code header} holds up to the first
     * 512 bytes of the file (fewer for shorter files).
     */
    int probe(MemorySegment header, Path path);

    /** Creates a new image; fails with {@link InvalidOptionException} for options that make no sense together. */
    void create(Path path, CreateOptions options) throws IOException;

    /** Opens an existing image. */
    BlockDevice open(Path path, OpenOptions options) throws IOException;

    /** The creation options this format understands ({@code qemu-img create -o help}). */
    default List<OptionHelp> createOptionHelp() {
        return List.of();
    }

    /** One line of {@code -o help}: the option name, its type and what it does. */
    record OptionHelp(String name, String type, String description) {
    }
}
