package io.jblk.vhost;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.OpenOptions;

import java.nio.file.Path;

/**
 * A vhost-user-blk back-end in its own JVM, for tests that kill it ({@code kill -9}) and start it again:
 * {@code GuestBackendMain SOCKET IMAGE FORMAT QUEUES [WRITE_DELAY_MS HOLD_FILE]}. Prints "serving"
 * once the socket listens; with a delay, writes are slowed and held once HOLD_FILE exists (see {@link SlowWrites}).
 */
public final class GuestBackendMain {
    private GuestBackendMain() {
    }

    public static void main(String[] args) throws Exception {
        BlockDevice device = BlockDrivers.open(Path.of(args[1]), args[2], OpenOptions.defaults());
        if (args.length > 4) {
            device = new SlowWrites(device, Long.parseLong(args[4]), Path.of(args[5]));
        }
        VhostUserBlkServer server = VhostUserBlkServer.builder(device, Path.of(args[0]))
                .queues(Integer.parseInt(args[3])).serial("jblk-crash-test").closeDeviceOnClose(true).build();
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                server.close();
            } catch (Exception e) {
                e.printStackTrace();
            }
        }));
        System.out.println("serving");
        System.out.flush();
        server.run();
    }
}
