#!/usr/bin/env python3
"""Turns bench/run.sh's results.tsv into markdown tables (medians, jblk/QEMU ratios, disk use) and an SVG bar chart.

usage: report.py RESULTS.tsv OUTDIR   -> OUTDIR/report.md, OUTDIR/inproc.svg
"""
import statistics
import sys
from collections import defaultdict

SIZES = {"k": 1 << 10, "M": 1 << 20, "G": 1 << 30}


def size_key(s):
    return int(s[:-1]) * SIZES[s[-1]] if s and s[-1] in SIZES else 0


def load(path):
    header, rows = [], []
    for line in open(path):
        line = line.rstrip("\n")
        if not line:
            continue
        if line.startswith("#"):
            header.append(line[2:].replace("\t", " "))
            continue
        kind, cs, l2, backing, tool, rep, value, used, load_avg = line.split("\t")
        if not value:
            continue
        rows.append(dict(kind=kind, cs=cs, l2=l2, backing=backing, tool=tool, value=float(value),
                         used=None if used == "-" else int(used), load=load_avg))
    return header, rows


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def side_by_side(rows, kind, target):
    cells = defaultdict(lambda: defaultdict(list))
    used = defaultdict(lambda: defaultdict(list))
    for r in rows:
        if r["kind"] == kind:
            key = (r["cs"], r["l2"], r["backing"])
            cells[key][r["tool"]].append(r["value"])
            if r["used"] is not None:
                used[key][r["tool"]].append(r["used"])
    out = ["| cluster | extended_l2 | backing | jblk IOPS | QEMU IOPS | jblk/QEMU | target | met | "
           "jblk disk MiB | QEMU disk MiB | n |",
           "|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|"]
    summary = []
    for key in sorted(cells, key=lambda k: (size_key(k[0]), k[1], k[2])):
        if not cells[key]["jblk"] or not cells[key]["qemu"]:
            continue  # a cell the run did not finish
        j, q = median(cells[key]["jblk"]), median(cells[key]["qemu"])
        ratio = j / q if q else float("nan")
        want = target(key)
        ju, qu = median(used[key]["jblk"]), median(used[key]["qemu"])
        mib = lambda b: "-" if b != b else "%.1f" % (b / (1 << 20))
        met = "yes" if ratio >= want else "**no**"
        out.append("| %s | %s | %s | %.0f | %.0f | %.2f | %.2f | %s | %s | %s | %d |" % (
            key[0], key[1], key[2], j, q, ratio, want, met, mib(ju), mib(qu), len(cells[key]["jblk"])))
        summary.append((key, j, q, ratio, want))
    return "\n".join(out), summary


def reads_table(rows):
    vals = defaultdict(list)
    for r in rows:
        if r["kind"] == "reads":
            vals[(r["tool"], r["cs"])].append(r["value"])
    fio = median(vals[("fio", "raw-file")])
    out = ["| reader | median IOPS | of raw fio | target | met | n |", "|---|---:|---:|---:|---|---:|"]
    for (tool, what), xs in sorted(vals.items()):
        m = median(xs)
        share = m / fio if fio else float("nan")
        target = "" if tool == "fio" else "0.85"
        met = "" if tool == "fio" else ("yes" if share >= 0.85 else "**no**")
        out.append("| %s %s | %.0f | %.2f | %s | %s | %d |" % (tool, what, m, share, target, met, len(xs)))
    return "\n".join(out)


def svg(summary, title):
    """Grouped bars: jblk and QEMU IOPS per cell, ratio printed above."""
    if not summary:
        return ""
    bar, gap, h, top, left = 14, 14, 260, 40, 60
    width = left + len(summary) * (2 * bar + gap) + 20
    peak = max(max(s[1], s[2]) for s in summary) or 1
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="10">' % (width, top + h + 90),
             '<text x="%d" y="20" font-size="13">%s</text>' % (left, title),
             '<rect x="%d" y="26" width="10" height="10" fill="#2a7"/><text x="%d" y="35">jblk</text>' % (left, left + 14),
             '<rect x="%d" y="26" width="10" height="10" fill="#888"/><text x="%d" y="35">QEMU</text>' % (left + 50, left + 64),
             '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (left - 2, top + h, width - 10, top + h)]
    for i in range(0, 5):
        v = peak * i / 4
        y = top + h - h * i / 4
        parts.append('<text x="%d" y="%.0f" text-anchor="end">%.0fk</text>' % (left - 6, y + 3, v / 1000))
    for n, (key, j, q, ratio, want) in enumerate(summary):
        x = left + n * (2 * bar + gap)
        for k, (v, colour) in enumerate(((j, "#2a7"), (q, "#888"))):
            bh = h * v / peak if v == v else 0
            parts.append('<rect x="%d" y="%.1f" width="%d" height="%.1f" fill="%s"/>' % (
                x + k * bar, top + h - bh, bar - 1, bh, colour))
        parts.append('<text x="%d" y="%.1f" text-anchor="middle" fill="%s">%.2f</text>' % (
            x + bar, top + h - h * max(j, q) / peak - 4, "black" if ratio >= want else "#c22", ratio))
        label = "%s %s %s" % (key[0], "x" if key[1] == "on" else "-", "b" if key[2] == "raw" else "")
        parts.append('<text transform="translate(%d,%d) rotate(60)">%s</text>' % (x + 4, top + h + 8, label))
    parts.append('<text x="%d" y="%d">label: cluster, x = extended_l2, b = raw backing; number = jblk/QEMU '
                 '(red: below target)</text>' % (left, top + h + 85))
    parts.append("</svg>")
    return "\n".join(parts)


def main():
    header, rows = load(sys.argv[1])
    outdir = sys.argv[2]
    target = lambda key: 1.25 if key[1] == "on" else 1.0
    md = ["# jblk vs QEMU (bench/run.sh)", "", "\n".join("- " + h for h in header), ""]
    t, summary = side_by_side(rows, "inproc", target)
    if summary:
        md += ["## In process: jblk bench vs qemu-img bench (writes, stride cluster + 4 KiB)", "", t, ""]
        open(outdir + "/inproc.svg", "w").write(svg(summary, "jblk bench vs qemu-img bench, 4 KiB allocating writes"))
    if any(r["kind"] == "reads" for r in rows):
        md += ["## Random 4 KiB reads of allocated data (in process, O_DIRECT)", "", reads_table(rows), ""]
    t, s = side_by_side(rows, "nbd-write", target)
    if s:
        md += ["## NBD randwrite: jblk serve vs qemu-nbd (fio nbd, 4k, iodepth 16)", "", t, ""]
    t, s = side_by_side(rows, "nbd-read", lambda key: 1.0)
    if s:
        md += ["## NBD randread after the write run: jblk serve vs qemu-nbd", "", t, ""]
    open(outdir + "/report.md", "w").write("\n".join(md))
    print("\n".join(md))


if __name__ == "__main__":
    main()
