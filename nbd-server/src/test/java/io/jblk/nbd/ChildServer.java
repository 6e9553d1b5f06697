package io.jblk.nbd;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;

import java.nio.file.Path;

/**
 * An NBD server in a JVM of its own, so that tests can cap its heap ({@code -Xmx}) and measure its CPU time and
 * memory apart from the test's. Arguments: IMAGE FORMAT SOCKET MAX_CONNECTIONS READ_ONLY. Serves until killed;
 * prints "ready" once it listens.
 */
public final class ChildServer {
    private ChildServer() {
    }

    public static void main(String[] args) throws Exception {
        boolean readOnly = Boolean.parseBoolean(args[4]);
        try (BlockDevice device = BlockDrivers.open(Path.of(args[0]), args[1],
                OpenOptions.builder().readOnly(readOnly).build());
             NbdServer server = NbdServer.builder().device(device).exportName("").readOnly(readOnly)
                     .unixSocket(Path.of(args[2])).maxConnections(Integer.parseInt(args[3])).persistent(true)
                     .build().start()) {
            System.out.println("ready");
            System.out.flush();
            server.awaitTermination();
        }
    }
}
