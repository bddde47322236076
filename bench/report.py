#!/usr/bin/python3
"""Turns bench/run.sh's CSV files into a Markdown summary: medians, min-max
and ratios (ovx / floor, ovx / kernel), plus PNG plots when gnuplot exists."""
import csv
import os
import shutil
import statistics
import subprocess
import sys
from collections import defaultdict

out = sys.argv[1]


def rows(name):
    path = os.path.join(out, name)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        return []
    with open(path) as f:
        return list(csv.DictReader(f))


def fmt(values):
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


cost = defaultdict(list)  # (fdb, case) -> [ns]
for r in rows("prog_cost.csv"):
    cost[(int(r["fdb_entries"]), r["case"])].append(float(r["median_ns"]))

print("### Per-packet program cost (ns, median of rounds, min-max)\n")
sizes = sorted({k[0] for k in cost})
cases = [c for c in dict.fromkeys(k[1] for k in cost)]
print("| case | " + " | ".join(f"{s:,} FDB" for s in sizes) + " | x floor | largest / smallest FDB |")
print("|---|" + "---|" * (len(sizes) + 2))
for c in cases:
    med = [statistics.median(cost[(s, c)]) for s in sizes]
    floor = "floor_xdp" if c.startswith("xdp") or c == "floor_xdp" else "floor_tc"
    ratio = med[0] / statistics.median(cost[(sizes[0], floor)])
    scale = med[-1] / med[0] if med[0] else float("nan")
    print(f"| {c} | " + " | ".join(fmt(cost[(s, c)]) for s in sizes) +
          f" | {ratio:.2f} | {scale:.2f} |")

e2e = defaultdict(list)  # (metric, dataplane) -> [value]
for r in rows("e2e.csv"):
    e2e[(r["metric"], r["dataplane"])].append(float(r["value"]))
if e2e:
    print("\n### End to end, ovx vs the kernel's vxlan+bridge (median, min-max)\n")
    print("| metric | ovx (XDP native) | ovx (XDP generic) | kernel | native / kernel | generic / kernel |")
    print("|---|---|---|---|---|---|")

    def fmt2(v):
        return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" if v else "-"

    def ratio(a, b):
        return f"{statistics.median(a) / statistics.median(b):.2f}" if a and b else "-"

    for m in dict.fromkeys(k[0] for k in e2e):
        o, g, k = (e2e.get((m, d), []) for d in ("ovx", "ovx-generic", "kernel"))
        print(f"| {m} | {fmt2(o)} | {fmt2(g)} | {fmt2(k)} | {ratio(o, k)} | {ratio(g, k)} |")

# Plot: cost per case across FDB sizes.
if shutil.which("gnuplot") and len(sizes) > 1:
    dat = os.path.join(out, "prog_cost.dat")
    with open(dat, "w") as f:
        for c in cases:
            f.write(c + " " + " ".join(str(statistics.median(cost[(s, c)])) for s in sizes) + "\n")
    cols = " ".join(f"'{dat}' using {i + 2}:xtic(1) title '{s:,} FDB'," for i, s in enumerate(sizes))
    script = f"""set terminal png size 1000,500 noenhanced
set output '{os.path.join(out, "prog_cost.png")}'
set style data histograms
set style fill solid border -1
set ylabel 'ns per packet (median)'
set xtics rotate by -25
set yrange [0:*]
set title 'ovx per-packet program cost by FDB size (BPF_PROG_TEST_RUN)'
set key top left
plot {cols.rstrip(',')}
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
