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


cost = defaultdict(list)  # (fdb, case) -> [ns], the FDB-size sweep
by_encap = defaultdict(list)  # (encap, family, case) -> [ns], the encapsulation sweep
for r in rows("prog_cost.csv"):
    ns = float(r["median_ns"])
    if r["sweep"] == "fdb":
        cost[(int(r["fdb_entries"]), r["case"])].append(ns)
    else:
        by_encap[(r["encap"], r["family"], r["case"])].append(ns)


def floor_of(case):
    return "floor_xdp" if case.startswith("xdp") or case == "floor_xdp" else "floor_tc"


print("### Per-packet program cost (ns, median of rounds, min-max)\n")
sizes = sorted({k[0] for k in cost})
cases = [c for c in dict.fromkeys(k[1] for k in cost)]
print("| case | " + " | ".join(f"{s:,} FDB" for s in sizes) + " | x floor | largest / smallest FDB |")
print("|---|" + "---|" * (len(sizes) + 2))
for c in cases:
    med = [statistics.median(cost[(s, c)]) for s in sizes]
    ratio = med[0] / statistics.median(cost[(sizes[0], floor_of(c))])
    scale = med[-1] / med[0] if med[0] else float("nan")
    print(f"| {c} | " + " | ".join(fmt(cost[(s, c)]) for s in sizes) +
          f" | {ratio:.2f} | {scale:.2f} |")

# The encapsulation sweep: one row per encapsulation and underlay family.
ENCAP_PATHS = ("xdp_decap_to_port", "tc_encap_to_vtep")
encaps = [e for e in dict.fromkeys(k[0] for k in by_encap) if e != "-"]
families = sorted({k[1] for k in by_encap if k[0] != "-"})
combos = [(e, f) for e in encaps for f in families if any(k[:2] == (e, f) for k in by_encap)]
if combos:
    floors = {c: by_encap[("-", "-", c)] for c in ("floor_xdp", "floor_tc")}
    print("\n### Per-packet cost by encapsulation (ns, median of rounds, min-max; x floor)\n")
    print(f"Floor in the same run: empty XDP {fmt(floors['floor_xdp'])}, "
          f"empty TC {fmt(floors['floor_tc'])}.\n")
    print("| encap | underlay | decap -> port (XDP) | x floor | encap -> VTEP (TC) | x floor |")
    print("|---|---|---|---|---|---|")
    for e, f in combos:
        cells = []
        for c in ENCAP_PATHS:
            v = by_encap.get((e, f, c))
            if not v:  # geneve+2opts: receive only
                cells += ["-", "-"]
                continue
            cells += [fmt(v), f"{statistics.median(v) / statistics.median(floors[floor_of(c)]):.2f}"]
        print(f"| {e} | {f} | " + " | ".join(cells) + " |")

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



def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=False)


# Plot: cost per case across FDB sizes.
if shutil.which("gnuplot") and len(sizes) > 1:
    dat = os.path.join(out, "prog_cost.dat")
    with open(dat, "w") as f:
        for c in cases:
            f.write(c + " " + " ".join(str(statistics.median(cost[(s, c)])) for s in sizes) + "\n")
    cols = " ".join(f"'{dat}' using {i + 2}:xtic(1) title '{s:,} FDB'," for i, s in enumerate(sizes))
    gnuplot(f"""set terminal png size 1000,500 noenhanced
set output '{os.path.join(out, "prog_cost.png")}'
set style data histograms
set style fill solid border -1
set ylabel 'ns per packet (median)'
set xtics rotate by -25
set yrange [0:*]
set title 'ovx per-packet program cost by FDB size (BPF_PROG_TEST_RUN)'
set key top left
plot {cols.rstrip(',')}
""")

# Plot: decap and encap per encapsulation and family, the floors beside them.
if shutil.which("gnuplot") and combos:
    dat = os.path.join(out, "prog_cost_encap.dat")
    with open(dat, "w") as f:
        f.write(f"floor {statistics.median(floors['floor_xdp'])} "
                f"{statistics.median(floors['floor_tc'])}\n")
        for e, fam in combos:
            f.write(f"{e}/{fam} " + " ".join(
                str(statistics.median(by_encap[(e, fam, c)])) if (e, fam, c) in by_encap else "-"
                for c in ENCAP_PATHS) + "\n")
    gnuplot(f"""set terminal png size 1000,500 noenhanced
set output '{os.path.join(out, "prog_cost_encap.png")}'
set style data histograms
set style fill solid border -1
set datafile missing '-'
set ylabel 'ns per packet (median)'
set xtics rotate by -25
set yrange [0:*]
set title 'ovx per-packet cost by encapsulation and underlay (BPF_PROG_TEST_RUN; floor = empty program)'
set key outside top center horizontal
plot '{dat}' using 2:xtic(1) title 'decap -> local port (XDP; floor: empty XDP)', \\
     '' using 3 title 'encap -> remote VTEP (TC; floor: empty TC)'
""")
