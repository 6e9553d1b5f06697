package io.jblk.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;

/**
 * Where an image may send the driver: the directories that backing files and external data files named inside an
 * image must lie in. Those names are data chosen by whoever made the image; an image from an untrusted source could
 * otherwise name {@code /etc/shadow} as its backing file (and have it served to a client) or a victim file as its
 * data file (and have it written). QEMU follows such names anywhere; so does {@link #NONE}, the library default.
 *
 * <p>A name is judged after resolving it the way the driver opens it (relative names against the naming image's
 * directory), then {@code ..} and every symbolic link ({@link Path#toRealPath}); it must then lie in (or below) one
 * of the allowed directories. The driver opens the real path it judged, so a link swapped afterwards is not followed
 * either. The whole backing chain is held to what the top image was allowed.
 *
 * @param imageDirectory also allow the directory of the image being opened (after resolving symbolic links)
 * @param directories    further allowed directories
 */
public record FileConfinement(boolean imageDirectory, List<Path> directories) {
    /** Names are followed anywhere (QEMU's behaviour). */
    public static final FileConfinement NONE = new FileConfinement(false, List.of());

    public FileConfinement {
        directories = List.copyOf(directories);
    }

    /** The image's own directory, plus {@code alsoAllowed}. */
    public static FileConfinement imageDirectoryAnd(Collection<Path> alsoAllowed) {
        return new FileConfinement(true, List.copyOf(alsoAllowed));
    }

    public boolean isConfined() {
        return imageDirectory || !directories.isEmpty();
    }

    /**
     * The confinement the files {@code image} names are opened with: the same allowed directories, with the image's
     * directory written out, so that a backing file's own backing name is held to the top image's directory.
     */
    public FileConfinement forFilesNamedBy(Path image) throws IOException {
        return isConfined() ? new FileConfinement(false, allowedDirectories(image)) : NONE;
    }

    /**
     * The path to open for {@code target}, which {@code image} names as its {@code role} ("backing file", "data
     * file"): {@code target} itself when unconfined, else its real path, when that lies in an allowed directory.
     *
     * @throws ConfinementException naming the file and the directories when it lies outside them
     */
    public Path check(Path image, String role, Path target) throws IOException {
        if (!isConfined()) {
            return target;
        }
        List<Path> allowed = allowedDirectories(image);
        Path lexical = target.toAbsolutePath().normalize();
        // A file that does not exist is judged by its name; opening it then fails with "not found".
        Path real = Files.exists(lexical) ? lexical.toRealPath() : lexical;
        for (Path dir : allowed) {
            if (real.startsWith(dir)) {
                return real;
            }
        }
        String really = real.equals(lexical) ? "" : " (really " + real + ")";
        String where = allowed.size() == 1 ? "the directory " + allowed.getFirst()
                : "the allowed directories " + allowed;
        throw new ConfinementException(role + " '" + target + "'" + really + " named by " + image + " is outside "
                + where + ", where images may refer to files", target);
    }

    /** Real paths of the allowed directories that exist (nothing can lie in one that does not). */
    private List<Path> allowedDirectories(Path image) throws IOException {
        List<Path> out = new ArrayList<>();
        if (imageDirectory) {
            Path parent = image.toAbsolutePath().getParent();
            out.add(parent.toRealPath());
        }
        for (Path d : directories) {
            Path abs = d.toAbsolutePath().normalize();
            if (Files.isDirectory(abs)) {
                out.add(abs.toRealPath());
            }
        }
        return out;
    }
}
