package io.jblk.bridge;

import io.jblk.api.BlockDevice;
import io.jblk.api.BlockDrivers;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.BlockDeviceConformanceTest;
import io.jblk.api.testing.ExternalTool;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

/**
 * The driver-api conformance suite (sequential and 64-deep concurrent shadow-disk workloads, reopen, read-only,
 * typed errors) run through guest driver → MMIO → split virtqueues → block driver.
 */
class BridgeConformanceTest {
    abstract static class Through extends BlockDeviceConformanceTest {
        @TempDir
        Path dir;

        abstract String format();

        CreateOptions.Builder create(long size) {
            return CreateOptions.builder(size);
        }

        Path image() {
            return dir.resolve("disk." + format());
        }

        @Override
        protected BlockDevice createDevice(long size) throws Exception {
            BlockDrivers.create(image(), format(), create(size).build());
            return open(false);
        }

        BlockDevice open(boolean readOnly) throws Exception {
            return new VirtioGuestBlockDevice(BlockDrivers.open(image(), format(),
                    OpenOptions.builder().readOnly(readOnly).build()), 2);
        }

        @Override
        protected BlockDevice reopen(BlockDevice device, boolean readOnly) throws Exception {
            device.close();
            return open(readOnly);
        }
    }

    @Nested
    class Raw extends Through {
        @Override
        String format() {
            return "raw";
        }

        @Override
        protected boolean discardReadsAsZero() {
            return true;
        }
    }

    /** qcow2 with extended L2 entries (64 KiB clusters, 2 KiB subclusters); {@code qemu-img check} after each run. */
    @Nested
    class Qcow2ExtendedL2 extends Through {
        @Override
        String format() {
            return "qcow2";
        }

        @Override
        CreateOptions.Builder create(long size) {
            return CreateOptions.builder(size).option("extended_l2", "on").option("cluster_size", "65536");
        }

        @Override
        protected void verifyAfterClose() throws Exception {
            if (ExternalTool.available("qemu-img")) {
                ExternalTool.qemuImg("check", "-f", "qcow2", image().toString()).ok();
            }
        }
    }
}
