package io.jblk.qcow2;

import io.jblk.api.BlockDevice;
import io.jblk.api.CreateOptions;
import io.jblk.api.Extent;
import io.jblk.api.OpenOptions;
import io.jblk.api.testing.ExternalTool;

import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.json.JsonFactory;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Test helpers: create and open images, read L2 entries straight from the file, run QEMU's checks. */
final class Qcow2Images {
    private Qcow2Images() {
    }

    static Qcow2Device create(Path path, long size, Map<String, String> options) throws IOException {
        new Qcow2Driver().create(path, CreateOptions.builder(size).options(options).build());
        return open(path);
    }

    static Qcow2Device open(Path path) throws IOException {
        return new Qcow2Driver().open(path, OpenOptions.builder().build(), io.jblk.nativeio.HostFileOpener.DEFAULT);
    }

    static Qcow2Device openReadOnly(Path path) throws IOException {
        return new Qcow2Driver().open(path, OpenOptions.builder().readOnly(true).build(),
                io.jblk.nativeio.HostFileOpener.DEFAULT);
    }

    static byte[] read(BlockDevice device, long offset, int length) throws Exception {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment buf = arena.allocate(length);
            device.read(offset, buf).get();
            return buf.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    static void write(BlockDevice device, long offset, byte[] data) throws Exception {
        device.write(offset, MemorySegment.ofArray(data.clone())).get();
    }

    static byte[] pattern(int length, int value) {
        byte[] b = new byte[length];
        java.util.Arrays.fill(b, (byte) value);
        return b;
    }

    /** The raw 128-bit (or 64-bit) L2 entry of a guest cluster, read from the file through L1 like qcow2dump. */
    static long[] l2Entry(Path image, long guestOffset) throws IOException {
        try (FileChannel ch = FileChannel.open(image, StandardOpenOption.READ)) {
            ByteBuffer h = ByteBuffer.allocate(112);
            ch.read(h, 0);
            int clusterBits = h.getInt(20);
            long l1Offset = h.getLong(40);
            boolean extended = h.getInt(4) == 3 && (h.getLong(72) & 16) != 0;
            int entrySize = extended ? 16 : 8;
            long l2Entries = (1L << clusterBits) / entrySize;
            long cluster = guestOffset >>> clusterBits;
            ByteBuffer l1 = ByteBuffer.allocate(8);
            ch.read(l1, l1Offset + 8 * (cluster / l2Entries));
            long l2Offset = l1.getLong(0) & 0x00ff_ffff_ffff_fe00L;
            if (l2Offset == 0) {
                return new long[] {0, 0};
            }
            ByteBuffer e = ByteBuffer.allocate(16);
            ch.read(e, l2Offset + entrySize * (cluster % l2Entries));
            return new long[] {e.getLong(0), extended ? e.getLong(8) : 0};
        }
    }

    /** qemu-img check must find no corruption and no leak. */
    static void assertQemuCheckClean(Path image) throws Exception {
        ExternalTool.Result r = ExternalTool.qemuImg("check", "--output=json", image.toString());
        assertEquals(0, r.exitCode(), () -> "qemu-img check " + image + ":\n" + r.stdout() + r.stderr());
    }

    /** qemu-img compare of the image against a raw file must report identical content. */
    static void assertSameAsRaw(Path image, byte[] expected, Path dir) throws Exception {
        Path raw = dir.resolve("expected-" + System.nanoTime() + ".raw");
        Files.write(raw, expected);
        ExternalTool.Result r = ExternalTool.qemuImg("compare", "-f", "qcow2", "-F", "raw", image.toString(),
                raw.toString());
        assertEquals(0, r.exitCode(), () -> "qemu-img compare:\n" + r.stdout() + r.stderr());
    }

    // ---- interop helpers: qemu-io, qemu-img map/convert, and jblk's view of the same image ----

    /** Runs {@code qemu-io -f qcow2 -c CMD...} on an image and fails with the transcript unless every command worked. */
    static ExternalTool.Result qemuIo(Path image, String... commands) throws Exception {
        List<String> args = new ArrayList<>(List.of("qemu-io", "-f", "qcow2"));
        for (String c : commands) {
            args.add("-c");
            args.add(c);
        }
        args.add(image.toString());
        ExternalTool.assumeAvailable("qemu-io");
        return ExternalTool.run(args).ok();
    }

    /** {@code qemu-img ARGS}, failing with the transcript unless it exits 0. */
    static ExternalTool.Result qemuImgOk(String... args) throws Exception {
        return ExternalTool.qemuImg(args).ok();
    }

    /** The guest content as QEMU sees it: {@code qemu-img convert -O raw}. */
    static byte[] qemuContent(Path image, Path dir) throws Exception {
        Path raw = dir.resolve("qemu-view-" + System.nanoTime() + ".raw");
        qemuImgOk("convert", "-O", "raw", image.toString(), raw.toString());
        try {
            return Files.readAllBytes(raw);
        } finally {
            Files.deleteIfExists(raw);
        }
    }

    /** {@code qemu-img map --output=json} parsed into extents (no "offset" key = {@link Extent#NO_OFFSET}). */
    static List<Extent> qemuMap(Path image) throws Exception {
        String json = qemuImgOk("map", "--output=json", image.toString()).stdout();
        return parseMap(json);
    }

    static List<Extent> parseMap(String json) {
        List<Extent> out = new ArrayList<>();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            if (p.nextToken() != JsonToken.START_ARRAY) {
                throw new AssertionError("qemu-img map did not print a JSON array: " + json);
            }
            while (p.nextToken() == JsonToken.START_OBJECT) {
                long start = -1;
                long length = -1;
                int depth = -1;
                boolean present = false;
                boolean zero = false;
                boolean data = false;
                long offset = Extent.NO_OFFSET;
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    JsonToken value = p.nextToken();
                    switch (name) {
                        case "start" -> start = p.getLongValue();
                        case "length" -> length = p.getLongValue();
                        case "depth" -> depth = p.getIntValue();
                        case "present" -> present = value == JsonToken.VALUE_TRUE;
                        case "zero" -> zero = value == JsonToken.VALUE_TRUE;
                        case "data" -> data = value == JsonToken.VALUE_TRUE;
                        case "offset" -> offset = p.getLongValue();
                        default -> p.skipChildren();
                    }
                }
                out.add(new Extent(start, length, data, zero, present, depth, offset, false));
            }
        }
        return merged(out);
    }

    /** jblk's block status of the whole device, asked for until covered, merged like {@link #merged}. */
    static List<Extent> jblkMap(BlockDevice device) throws Exception {
        List<Extent> out = new ArrayList<>();
        long pos = 0;
        while (pos < device.size()) {
            List<Extent> part = device.blockStatus(pos, device.size() - pos).get();
            if (part.isEmpty() || part.getFirst().offset() != pos) {
                throw new AssertionError("block status at " + pos + " answered " + part);
            }
            for (Extent e : part) {
                out.add(new Extent(e.offset(), e.length(), e.data(), e.zero(), e.present(), e.depth(),
                        e.hostOffset(), false));
                pos = e.end();
            }
        }
        return merged(out);
    }

    /** Adjacent extents that describe their bytes the same way become one (qemu-img map prints them so). */
    static List<Extent> merged(List<Extent> extents) {
        List<Extent> out = new ArrayList<>();
        for (Extent e : extents) {
            if (!out.isEmpty() && out.getLast().canMergeWith(e)) {
                out.set(out.size() - 1, out.getLast().mergedWith(e));
            } else {
                out.add(e);
            }
        }
        return out;
    }

    static String describe(List<Extent> extents) {
        StringBuilder b = new StringBuilder();
        for (Extent e : extents) {
            b.append(String.format("  [%#x +%#x] depth=%d present=%s zero=%s data=%s offset=%s%n", e.offset(),
                    e.length(), e.depth(), e.present(), e.zero(), e.data(),
                    e.hasHostOffset() ? "0x" + Long.toHexString(e.hostOffset()) : "-"));
        }
        return b.toString();
    }

    /** Every guest byte jblk reads equals qemu-img convert's output. */
    static void assertContentLikeQemu(Path image, Path dir) throws Exception {
        byte[] expected = qemuContent(image, dir);
        try (Qcow2Device d = openReadOnly(image)) {
            assertEquals(expected.length, d.size(), "virtual size");
            byte[] actual = readAll(d);
            int mismatch = java.util.Arrays.mismatch(expected, actual);
            if (mismatch >= 0) {
                throw new AssertionError("jblk reads " + image.getFileName() + " differently from qemu-img convert at "
                        + "guest offset 0x" + Long.toHexString(mismatch) + ": jblk 0x"
                        + Integer.toHexString(actual[mismatch] & 0xff) + ", QEMU 0x"
                        + Integer.toHexString(expected[mismatch] & 0xff));
            }
        }
    }

    /** jblk's block status equals qemu-img map --output=json, extent by extent. */
    static void assertMapLikeQemu(Path image) throws Exception {
        List<Extent> expected = qemuMap(image);
        List<Extent> actual;
        try (Qcow2Device d = openReadOnly(image)) {
            actual = jblkMap(d);
        }
        assertEquals(describe(expected), describe(actual), "block status of " + image.getFileName()
                + " (expected = qemu-img map, actual = jblk)");
    }

    static void assertReadsLikeQemu(Path image, Path dir) throws Exception {
        assertContentLikeQemu(image, dir);
        assertMapLikeQemu(image);
    }

    static byte[] readAll(BlockDevice d) throws Exception {
        byte[] all = new byte[Math.toIntExact(d.size())];
        int chunk = 8 << 20;
        for (long pos = 0; pos < all.length; pos += chunk) {
            int n = (int) Math.min(chunk, all.length - pos);
            System.arraycopy(read(d, pos, n), 0, all, (int) pos, n);
        }
        return all;
    }

    /** The numeric keys of {@code qemu-img check --output=json} (image-end-offset, allocated-clusters, leaks, ...). */
    static Map<String, Long> qemuCheckNumbers(Path image) throws Exception {
        ExternalTool.Result r = ExternalTool.qemuImg("check", "--output=json", image.toString());
        Map<String, Long> out = new java.util.TreeMap<>();
        try (JsonParser p = new JsonFactory().createParser(r.stdout())) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw new AssertionError("qemu-img check printed no JSON object: " + r.stdout() + r.stderr());
            }
            while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (value == JsonToken.VALUE_NUMBER_INT) {
                    out.put(name, p.getLongValue());
                } else {
                    p.skipChildren();
                }
            }
        }
        out.put("exit-code", (long) r.exitCode());
        return out;
    }

    /** {@code qemu-img info --output=json} as nested maps, lists, longs, booleans and strings. */
    static Map<String, Object> qemuInfo(Path image) throws Exception {
        String json = qemuImgOk("info", "--output=json", image.toString()).stdout();
        try (JsonParser p = new JsonFactory().createParser(json)) {
            p.nextToken();
            @SuppressWarnings("unchecked")
            Map<String, Object> out = (Map<String, Object>) jsonValue(p);
            return out;
        }
    }

    private static Object jsonValue(JsonParser p) {
        return switch (p.currentToken()) {
            case START_OBJECT -> {
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                while (p.nextToken() == JsonToken.PROPERTY_NAME) {
                    String name = p.currentName();
                    p.nextToken();
                    m.put(name, jsonValue(p));
                }
                yield m;
            }
            case START_ARRAY -> {
                List<Object> l = new ArrayList<>();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    l.add(jsonValue(p));
                }
                yield l;
            }
            case VALUE_NUMBER_INT -> p.getLongValue();
            case VALUE_NUMBER_FLOAT -> p.getDoubleValue();
            case VALUE_TRUE -> true;
            case VALUE_FALSE -> false;
            case VALUE_NULL -> null;
            default -> p.getString();
        };
    }
}
