package io.jblk.qcow2;

import io.jblk.api.CreateOptions;
import io.jblk.api.InvalidOptionException;
import io.jblk.qcow2.format.ClusterGeometry;
import io.jblk.qcow2.format.Qcow2Header;

import java.util.Locale;
import java.util.Map;

/**
 * The {@code qemu-img create -f qcow2 -o ...} options, parsed and checked against each other with qemu-img's rules
 * and messages.
 */
record CreateSettings(long size, int clusterBits, boolean extendedL2, int version, int refcountOrder,
                      boolean lazyRefcounts, String backingFile, String backingFormat, String dataFile,
                      boolean dataFileRaw, int compressionType, String preallocation) {

    static CreateSettings parse(CreateOptions options) throws InvalidOptionException {
        long clusterSize = 65536;
        boolean extendedL2 = false;
        String compat = "1.1";
        int refcountBits = 16;
        boolean lazy = false;
        String dataFile = null;
        boolean dataFileRaw = false;
        String compression = "zlib";
        String preallocation = "off";
        String backingFile = options.backingFile();
        String backingFormat = options.backingFormat();
        for (Map.Entry<String, String> o : options.formatOptions().entrySet()) {
            String v = o.getValue().trim();
            switch (o.getKey()) {
                case "cluster_size" -> clusterSize = OptionSizes.parse("cluster_size", v);
                case "extended_l2" -> extendedL2 = bool("extended_l2", v);
                case "compat" -> compat = switch (v) {
                    case "0.10", "v2" -> "0.10";
                    case "1.1", "v3" -> "1.1";
                    default -> throw new InvalidOptionException("Invalid parameter '" + v
                            + "' for compat (expected 0.10 or 1.1)");
                };
                case "refcount_bits" -> refcountBits = (int) OptionSizes.parse("refcount_bits", v);
                case "lazy_refcounts" -> lazy = bool("lazy_refcounts", v);
                case "data_file" -> dataFile = v;
                case "data_file_raw" -> dataFileRaw = bool("data_file_raw", v);
                case "compression_type" -> compression = switch (v) {
                    case "zlib", "deflate" -> "zlib";
                    case "zstd" -> "zstd";
                    default -> throw new InvalidOptionException("Invalid parameter '" + v
                            + "' for compression_type (expected zlib or zstd)");
                };
                case "preallocation" -> preallocation = switch (v.toLowerCase(Locale.ROOT)) {
                    case "off", "metadata", "falloc", "full" -> v.toLowerCase(Locale.ROOT);
                    default -> throw new InvalidOptionException("Invalid parameter '" + v
                            + "' for preallocation (expected off, metadata, falloc or full)");
                };
                case "backing_file" -> backingFile = v;
                case "backing_fmt" -> backingFormat = v;
                case "encryption", "encrypt.format" -> throw new InvalidOptionException(
                        "encrypted qcow2 images are not supported yet");
                default -> throw new InvalidOptionException("Invalid parameter '" + o.getKey() + "'");
            }
        }
        if (clusterSize < 512 || clusterSize > (2 << 20) || Long.bitCount(clusterSize) != 1) {
            throw new InvalidOptionException("Cluster size must be a power of two between 512 and 2048k");
        }
        int clusterBits = Long.numberOfTrailingZeros(clusterSize);
        int version = compat.equals("0.10") ? 2 : 3;
        if (options.size() % 512 != 0) {
            throw new InvalidOptionException("Image size must be a multiple of 512 bytes");
        }
        if (extendedL2 && clusterBits < ClusterGeometry.MIN_EXTENDED_CLUSTER_BITS) {
            throw new InvalidOptionException(
                    "Extended L2 entries are only supported with cluster sizes of at least 16384 bytes");
        }
        if (version == 2) {
            if (extendedL2) {
                throw new InvalidOptionException(
                        "Extended L2 entries are only supported with compatibility level 1.1 and above");
            }
            if (lazy) {
                throw new InvalidOptionException(
                        "Lazy refcounts only supported with compatibility level 1.1 and above (use compat=1.1 or greater)");
            }
            if (refcountBits != 16) {
                throw new InvalidOptionException("Different refcount widths than 16 bits require compatibility level "
                        + "1.1 or above (use compat=1.1 or greater)");
            }
            if (dataFile != null) {
                throw new InvalidOptionException("External data files are only supported with compatibility level 1.1 and above "
                        + "(use compat=1.1 or greater)");
            }
            if (!compression.equals("zlib")) {
                throw new InvalidOptionException("Non-zlib compression type is only supported with compatibility level 1.1 "
                        + "and above (use compat=1.1 or greater)");
            }
        }
        if (refcountBits < 1 || refcountBits > 64 || Integer.bitCount(refcountBits) != 1) {
            throw new InvalidOptionException("Refcount width must be a power of two and may not exceed 64 bits");
        }
        if (dataFileRaw && dataFile == null) {
            throw new InvalidOptionException("data_file_raw requires data_file");
        }
        if (dataFileRaw && backingFile != null) {
            throw new InvalidOptionException("Backing file and data_file_raw cannot be used at the same time");
        }
        if (backingFile != null && !preallocation.equals("off") && !extendedL2) {
            throw new InvalidOptionException("Backing file and preallocation can only be used at the same time if "
                    + "extended_l2 is on");
        }
        if (backingFile != null && backingFile.getBytes(java.nio.charset.StandardCharsets.UTF_8).length
                > Qcow2Header.MAX_BACKING_NAME) {
            throw new InvalidOptionException("Backing file name too long (at most " + Qcow2Header.MAX_BACKING_NAME
                    + " bytes)");
        }
        return new CreateSettings(options.size(), clusterBits, extendedL2, version,
                Integer.numberOfTrailingZeros(refcountBits), lazy, backingFile, backingFormat, dataFile, dataFileRaw,
                compression.equals("zstd") ? Qcow2Header.COMPRESSION_ZSTD : Qcow2Header.COMPRESSION_DEFLATE,
                preallocation);
    }

    private static boolean bool(String name, String v) throws InvalidOptionException {
        return switch (v.toLowerCase(Locale.ROOT)) {
            case "on", "true", "yes" -> true;
            case "off", "false", "no" -> false;
            default -> throw new InvalidOptionException("Parameter '" + name + "' expects 'on' or 'off'");
        };
    }
}
