package io.jblk.cli;

import io.jblk.api.BlockDevice;
import io.jblk.api.Extent;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * An image's allocation as a grid: one cell per allocation unit (the subcluster for qcow2 with extended L2 entries),
 * grouped into clusters. Drawn as text (one character per cell), SVG or PNG.
 */
final class AllocationPicture {
    /** More cells than this and cells are widened, so a picture of a huge image stays drawable. */
    private static final int MAX_CELLS = 1 << 20;

    /** What a cell holds; when a cell mixes several, the first in this order wins. */
    enum Cell {
        DATA('#', "#d62728", "data in this image"),
        COMPRESSED('c', "#9467bd", "compressed"),
        ZERO('0', "#2ca02c", "zeros in this image"),
        BACKING('.', "#bdbdbd", "read from the backing chain"),
        METADATA('M', "#1f77b4", "format metadata (host file)"),
        UNALLOCATED('-', "#ffffff", "unallocated (free in the host file)");

        final char symbol;
        final String colour;
        final String meaning;

        Cell(char symbol, String colour, String meaning) {
            this.symbol = symbol;
            this.colour = colour;
            this.meaning = meaning;
        }

        static Cell of(Extent e) {
            if (!e.present()) {
                return UNALLOCATED;
            }
            if (e.depth() > 0) {
                return BACKING;
            }
            if (e.compressed()) {
                return COMPRESSED;
            }
            return e.data() ? DATA : ZERO;
        }
    }

    private final long cellSize;
    private final int cellsPerCluster;
    private final Cell[] cells;
    private String title = "guest view";

    private AllocationPicture(long cellSize, int cellsPerCluster, Cell[] cells) {
        this.cellSize = cellSize;
        this.cellsPerCluster = cellsPerCluster;
        this.cells = cells;
    }

    /**
     * The image file itself, one cell per host cluster: metadata, guest data, free. Drawn under the guest view so
     * the cost of the format (tables, refcounts) and the file's fragmentation are visible at a glance.
     */
    static AllocationPicture ofHost(io.jblk.api.HostLayout layout) throws IOException {
        long cell = layout.hostClusterSize();
        List<io.jblk.api.HostLayout.HostRange> ranges = layout.hostLayout();
        long size = ranges.isEmpty() ? 0 : ranges.getLast().offset() + ranges.getLast().length();
        while (size / cell > MAX_CELLS) {
            cell *= 2;
        }
        Cell[] cells = new Cell[(int) ((size + cell - 1) / cell)];
        for (var r : ranges) {
            Cell kind = switch (r.use()) {
                case METADATA -> Cell.METADATA;
                case DATA -> Cell.DATA;
                case FREE -> Cell.UNALLOCATED;
            };
            for (long i = r.offset() / cell; i <= (r.offset() + r.length() - 1) / cell; i++) {
                if (cells[(int) i] == null || kind.ordinal() < cells[(int) i].ordinal()) {
                    cells[(int) i] = kind;
                }
            }
        }
        for (int i = 0; i < cells.length; i++) {
            if (cells[i] == null) {
                cells[i] = Cell.UNALLOCATED;
            }
        }
        AllocationPicture picture = new AllocationPicture(cell, 1, cells);
        picture.title = "host file, one cell per " + Sizes.human(cell) + " cluster";
        return picture;
    }

    /** Cells of the device's allocation granularity, clusters of its optimal I/O size. */
    static AllocationPicture of(BlockDevice device, List<Extent> extents) {
        long cell = Math.max(512, device.limits().allocationGranularity());
        long cluster = Math.max(cell, device.limits().optimalIoSize());
        return of(device.size(), cell, cluster, extents);
    }

    static AllocationPicture of(long size, long cell, long cluster, List<Extent> extents) {
        while (size / cell > MAX_CELLS) {
            cell *= 2;
            cluster = Math.max(cluster, cell);
        }
        int count = (int) ((size + cell - 1) / cell);
        Cell[] cells = new Cell[count];
        for (Extent e : extents) {
            Cell kind = Cell.of(e);
            int first = (int) (e.offset() / cell);
            int last = (int) Math.min(count - 1, (e.end() - 1) / cell);
            for (int i = first; i <= last; i++) {
                if (cells[i] == null || kind.ordinal() < cells[i].ordinal()) {
                    cells[i] = kind;
                }
            }
        }
        for (int i = 0; i < count; i++) {
            if (cells[i] == null) {
                cells[i] = Cell.UNALLOCATED;
            }
        }
        return new AllocationPicture(cell, (int) (cluster / cell), cells);
    }

    long cellSize() {
        return cellSize;
    }

    /** {@code count} cells from the cell holding {@code offset}, one character each. */
    String window(long offset, int count) {
        StringBuilder s = new StringBuilder();
        int first = (int) (offset / cellSize);
        for (int i = first; i < Math.min(cells.length, first + count); i++) {
            s.append(cells[i].symbol);
        }
        return s.toString();
    }

    /** How many cells of each kind, e.g. "1024 cells of 4 KiB: 12 data, 1012 unallocated". */
    String summary() {
        Map<Cell, Integer> counts = new EnumMap<>(Cell.class);
        for (Cell c : cells) {
            counts.merge(c, 1, Integer::sum);
        }
        StringBuilder s = new StringBuilder(cells.length + " cells of " + Sizes.human(cellSize) + ":");
        String sep = " ";
        for (var e : counts.entrySet()) {
            s.append(sep).append(e.getValue()).append(' ').append(e.getKey().meaning);
            sep = ", ";
        }
        return s.toString();
    }

    /** One line per 64 cells, prefixed with its guest offset; a legend first. */
    void writeText(PrintWriter out) {
        out.println(title + ": " + legend());
        int perLine = 64;
        for (int i = 0; i < cells.length; i += perLine) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%#14x ", i * cellSize));
            for (int j = i; j < Math.min(cells.length, i + perLine); j++) {
                line.append(cells[j].symbol);
            }
            out.println(line);
        }
    }

    String legend() {
        StringBuilder s = new StringBuilder("one character per " + Sizes.human(cellSize) + ":");
        for (Cell c : Cell.values()) {
            s.append(" '").append(c.symbol).append("' ").append(c.meaning).append(';');
        }
        return s.substring(0, s.length() - 1);
    }

    void writeFile(Path path) throws IOException {
        writeFile(path, List.of(this));
    }

    /** Several pictures stacked in one file (the guest view, then the host file). */
    static void writeFile(Path path, List<AllocationPicture> pictures) throws IOException {
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".svg")) {
            try (Writer w = Files.newBufferedWriter(path, StandardCharsets.UTF_8)) {
                writeSvg(w, pictures);
            }
        } else if (name.endsWith(".png")) {
            writePng(path, pictures);
        } else if (name.endsWith(".txt")) {
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(path, StandardCharsets.UTF_8))) {
                for (AllocationPicture p : pictures) {
                    p.writeText(w);
                }
            }
        } else {
            throw new CliException("--picture " + path + ": unknown picture type (use .svg, .png, .txt or -)");
        }
    }

    /** Layout shared by SVG and PNG: clusters in rows, each cluster a box of vertical cell strips. */
    private record Layout(int cellWidth, int clusterWidth, int clusterHeight, int clustersPerRow, int clusters) {
        int width() {
            return clustersPerRow * (clusterWidth + 2) + 2;
        }

        int height() {
            return ((clusters + clustersPerRow - 1) / clustersPerRow) * (clusterHeight + 2) + 2;
        }

        int x(int cluster) {
            return 2 + (cluster % clustersPerRow) * (clusterWidth + 2);
        }

        int y(int cluster) {
            return 2 + (cluster / clustersPerRow) * (clusterHeight + 2);
        }
    }

    private Layout layout() {
        int cellWidth = cellsPerCluster >= 16 ? 1 : cellsPerCluster >= 4 ? 2 : 8;
        int clusterWidth = Math.max(8, cellWidth * cellsPerCluster);
        int clusters = (cells.length + cellsPerCluster - 1) / cellsPerCluster;
        int perRow = Math.max(1, Math.min(clusters, 1600 / (clusterWidth + 2)));
        return new Layout(cellWidth, clusterWidth, 12, perRow, clusters);
    }

    private static final int TITLE_HEIGHT = 16;

    private static void writeSvg(Writer w, List<AllocationPicture> pictures) throws IOException {
        int width = 0;
        int height = 0;
        for (AllocationPicture p : pictures) {
            width = Math.max(width, p.layout().width());
            height += TITLE_HEIGHT + p.layout().height();
        }
        w.write("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + Math.max(width, 1200) + "\" height=\""
                + (height + 20) + "\" shape-rendering=\"crispEdges\">\n");
        w.write("<title>" + escape(pictures.getFirst().legend()) + "</title>\n");
        int top = 0;
        for (AllocationPicture p : pictures) {
            w.write("<text x=\"2\" y=\"" + (top + 12) + "\" font-size=\"12\" font-family=\"sans-serif\">"
                    + escape(p.title) + "</text>\n");
            top += TITLE_HEIGHT;
            w.write("<g transform=\"translate(0," + top + ")\">\n");
            p.writeSvgCells(w);
            w.write("</g>\n");
            top += p.layout().height();
        }
        int lx = 2;
        for (Cell c : Cell.values()) {
            w.write("<rect x=\"" + lx + "\" y=\"" + (top + 6) + "\" width=\"10\" height=\"10\" fill=\""
                    + c.colour + "\" stroke=\"#444\"/><text x=\"" + (lx + 14) + "\" y=\"" + (top + 15)
                    + "\" font-size=\"11\" font-family=\"sans-serif\">" + escape(c.meaning) + "</text>\n");
            lx += 200;
        }
        w.write("</svg>\n");
    }

    private void writeSvgCells(Writer w) throws IOException {
        Layout l = layout();
        for (int c = 0; c < l.clusters(); c++) {
            int x = l.x(c);
            int y = l.y(c);
            for (int i = 0; i < cellsPerCluster; i++) {
                int index = c * cellsPerCluster + i;
                if (index >= cells.length) {
                    break;
                }
                int cx = x + i * l.clusterWidth() / cellsPerCluster;
                int cw = Math.max(1, l.clusterWidth() / cellsPerCluster);
                w.write("<rect x=\"" + cx + "\" y=\"" + y + "\" width=\"" + cw + "\" height=\"" + l.clusterHeight()
                        + "\" fill=\"" + cells[index].colour + "\"/>\n");
            }
            w.write("<rect x=\"" + x + "\" y=\"" + y + "\" width=\"" + l.clusterWidth() + "\" height=\""
                    + l.clusterHeight() + "\" fill=\"none\" stroke=\"#444\" stroke-width=\"0.5\"/>\n");
        }
    }

    private static void writePng(Path path, List<AllocationPicture> pictures) throws IOException {
        int width = 1;
        int height = 0;
        for (AllocationPicture p : pictures) {
            width = Math.max(width, p.layout().width());
            height += TITLE_HEIGHT + p.layout().height();
        }
        BufferedImage image = new BufferedImage(width, Math.max(1, height), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            int top = 0;
            for (AllocationPicture p : pictures) {
                g.setColor(Color.BLACK);
                g.drawString(p.title, 2, top + 12);
                top += TITLE_HEIGHT;
                p.drawPng(g, top);
                top += p.layout().height();
            }
        } finally {
            g.dispose();
        }
        if (!javax.imageio.ImageIO.write(image, "png", path.toFile())) {
            throw new IOException("no PNG writer available");
        }
    }

    private void drawPng(Graphics2D g, int top) {
        Layout l = layout();
        for (int c = 0; c < l.clusters(); c++) {
            for (int i = 0; i < cellsPerCluster && c * cellsPerCluster + i < cells.length; i++) {
                g.setColor(Color.decode(cells[c * cellsPerCluster + i].colour));
                g.fillRect(l.x(c) + i * l.clusterWidth() / cellsPerCluster, top + l.y(c),
                        Math.max(1, l.clusterWidth() / cellsPerCluster), l.clusterHeight());
            }
            g.setColor(Color.DARK_GRAY);
            g.drawRect(l.x(c), top + l.y(c), l.clusterWidth(), l.clusterHeight());
        }
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;");
    }
}
