package io.jblk.cli;

import io.jblk.api.FileConfinement;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code --[no-]confine} and {@code --allow-backing DIR}: where backing and data files named inside an image may lie
 * ({@link FileConfinement}). Mixed into the commands that open images a stranger may have made: {@code serve}
 * confines by default, {@code io} only when asked.
 */
final class ConfinementOptions {
    @Option(names = "--confine", negatable = true, description = "follow backing and data-file names only into the "
            + "image's directory (after resolving .. and symbolic links) and the --allow-backing directories")
    Boolean confine;
    @Option(names = "--allow-backing", paramLabel = "DIR", description = "also allow backing and data files under "
            + "DIR (implies --confine); may be repeated")
    List<Path> allowed = new ArrayList<>();

    /** What the flags ask for, {@code confinedByDefault} deciding when neither flag is given. */
    FileConfinement confinement(boolean confinedByDefault) {
        if (Boolean.FALSE.equals(confine) && !allowed.isEmpty()) {
            throw new CliException("--no-confine and --allow-backing contradict each other");
        }
        for (Path dir : allowed) {
            if (!Files.isDirectory(dir)) {
                throw new CliException("--allow-backing " + dir + ": no such directory");
            }
        }
        boolean confined = confine != null ? confine : confinedByDefault || !allowed.isEmpty();
        return confined ? FileConfinement.imageDirectoryAnd(allowed) : FileConfinement.NONE;
    }
}
