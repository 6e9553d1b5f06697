package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.CacheMode;
import io.jblk.api.IoEngineKind;
import io.jblk.api.CreateOptions;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.BlockDeviceConformanceTest;
import io.jblk.api.testing.ExternalTool;
import io.jblk.nativeio.HostFileOpener;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The shared shadow-disk suite over qcow2 in the configurations that exercise different code paths; after each
 * workload the image must pass {@code qemu-img check} with no corruption and no leak.
 */
class Qcow2ConformanceTest {

    abstract static class Config extends BlockDeviceConformanceTest {
        @TempDir
        Path dir;

        abstract Map<String, String> options();

        /** Backing file content, or null for none. */
        byte[] backing(long size) {
            return null;
        }

        Path image() {
            return dir.resolve("disk.qcow2");
        }

        OpenOptions.Builder openOptions() {
            return OpenOptions.builder();
        }

        @Override
        protected byte[] initialContent(long size) {
            byte[] b = backing(size);
            return b != null ? b : new byte[(int) size];
        }

        @Override
        protected BlockDevice createDevice(long size) throws Exception {
            CreateOptions.Builder create = CreateOptions.builder(size).options(options());
            byte[] b = backing(size);
            if (b != null) {
                Path base = dir.resolve("base.raw");
                Files.write(base, b);
                create.backingFile("base.raw", "raw");
            }
            new Qcow2Driver().create(image(), create.build());
            return new Qcow2Driver().open(image(), openOptions().build(), HostFileOpener.DEFAULT);
        }

        @Override
        protected BlockDevice reopen(BlockDevice device, boolean readOnly) throws Exception {
            device.close();
            return new Qcow2Driver().open(image(), openOptions().readOnly(readOnly).build(), HostFileOpener.DEFAULT);
        }

        @Override
        protected void verifyAfterClose() throws Exception {
            if (ExternalTool.available("qemu-img")) {
                Qcow2Images.assertQemuCheckClean(image());
            }
        }
    }

    static byte[] patterned(long size) {
        byte[] b = new byte[(int) size];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i * 31 + (i >>> 12));
        }
        return b;
    }

    @Nested
    class Extended64k extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("extended_l2", "on");
        }
    }

    @Nested
    class Standard64k extends Config {
        @Override
        Map<String, String> options() {
            return Map.of();
        }
    }

    @Nested
    class Extended128kOverRawBacking extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("extended_l2", "on", "cluster_size", "128k");
        }

        @Override
        byte[] backing(long size) {
            return patterned(size);
        }
    }

    @Nested
    class Standard64kOverRawBacking extends Config {
        @Override
        Map<String, String> options() {
            return Map.of();
        }

        @Override
        byte[] backing(long size) {
            return patterned(size);
        }
    }

    @Nested
    class Extended16kSmallCache extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("extended_l2", "on", "cluster_size", "16k", "refcount_bits", "1");
        }

        @Override
        protected BlockDevice createDevice(long size) throws Exception {
            super.createDevice(size).close();
            return new Qcow2Driver().open(image(), OpenOptions.builder().formatOption("l2-cache-size", "32k")
                    .formatOption("l2-cache-entry-size", "4k").build(), HostFileOpener.DEFAULT);
        }
    }

    @Nested
    class Standard512ByteClusters extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("cluster_size", "512", "refcount_bits", "64");
        }

        @Override
        protected long deviceSize() {
            return 2L << 20;
        }
    }

    @Nested
    class Extended2MWithDataFile extends Config {
        @Override
        Map<String, String> options() {
            // Absolute: QEMU 7.2 resolves a relative data file name against its working directory.
            return Map.of("extended_l2", "on", "cluster_size", "2M", "data_file", dir.resolve("disk.data").toString());
        }

        @Override
        protected long deviceSize() {
            return 16L << 20;
        }
    }

    @Nested
    class LazyRefcountsCompat010 extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("compat", "0.10");
        }
    }

    @Nested
    class LazyRefcounts extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("lazy_refcounts", "on", "extended_l2", "on");
        }
    }

    @Nested
    class Extended64kIoUringDirect extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("extended_l2", "on");
        }

        @Override
        byte[] backing(long size) {
            return patterned(size);
        }

        @Override
        OpenOptions.Builder openOptions() {
            return OpenOptions.builder().ioEngine(IoEngineKind.IO_URING).cacheMode(CacheMode.NONE);
        }

        @Override
        protected BlockDevice createDevice(long size) throws Exception {
            BlockDevice device = super.createDevice(size);
            org.junit.jupiter.api.Assertions.assertEquals("io_uring", device.info().ioEngine(),
                    "this machine has io_uring; the engine must not have fallen back");
            return device;
        }
    }

    @Nested
    class Extended64kThreadsDirect extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("extended_l2", "on");
        }

        @Override
        byte[] backing(long size) {
            return patterned(size);
        }

        @Override
        OpenOptions.Builder openOptions() {
            return OpenOptions.builder().ioEngine(IoEngineKind.THREADS).cacheMode(CacheMode.NONE);
        }
    }

    @Nested
    class Standard128kIoUring extends Config {
        @Override
        Map<String, String> options() {
            return Map.of("cluster_size", "128k");
        }

        @Override
        OpenOptions.Builder openOptions() {
            return OpenOptions.builder().ioEngine(IoEngineKind.IO_URING);
        }
    }
}
