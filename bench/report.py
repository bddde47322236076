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
by_segments = defaultdict(list)  # (segments, case) -> [ns], the segment-count sweep
by_encap = defaultdict(list)  # (encap, family, case) -> [ns], the encapsulation sweep
for r in rows("prog_cost.csv"):
    ns = float(r["median_ns"])
    if r["sweep"] == "fdb":
        cost[(int(r["fdb_entries"]), r["case"])].append(ns)
    elif r["sweep"] == "segments":  # the size column holds the segment count
        by_segments[(int(r["fdb_entries"]), r["case"])].append(ns)
    else:
        by_encap[(r["encap"], r["family"], r["case"])].append(ns)


def floor_of(case):
    return "floor_xdp" if case.startswith("xdp") or case == "floor_xdp" else "floor_tc"


def sweep_table(title, data, unit):
    """One row per case, one column per size of the sweep; x floor at the
    smallest size, and the largest size's cost over the smallest's."""
    if not data:
        return
    print(f"### {title} (ns, median of rounds, min-max)\n")
    sizes = sorted({k[0] for k in data})
    cases = [c for c in dict.fromkeys(k[1] for k in data)]
    print("| case | " + " | ".join(f"{s:,} {unit}" for s in sizes) +
          f" | x floor | largest / smallest {unit} |")
    print("|---|" + "---|" * (len(sizes) + 2))
    for c in cases:
        med = [statistics.median(data[(s, c)]) for s in sizes]
        ratio = med[0] / statistics.median(data[(sizes[0], floor_of(c))])
        scale = med[-1] / med[0] if med[0] else float("nan")
        print(f"| {c} | " + " | ".join(fmt(data[(s, c)]) for s in sizes) +
              f" | {ratio:.2f} | {scale:.2f} |")
    print()


sweep_table("Per-packet program cost by FDB size", cost, "FDB")
sweep_table("Per-packet program cost by number of segments", by_segments, "segments")

# The encapsulation sweep: one row per encapsulation and underlay family.
ENCAP_PATHS = ("xdp_decap_to_port", "tc_encap_to_vtep")
encaps = [e for e in dict.fromkeys(k[0] for k in by_encap) if e != "-"]
families = sorted({k[1] for k in by_encap if k[0] != "-"})
combos = [(e, f) for e in encaps for f in families if any(k[:2] == (e, f) for k in by_encap)]
if combos:
    floors = {c: by_encap[("-", "-", c)] for c in ("floor_xdp", "floor_tc")}
    print("### Per-packet cost by encapsulation (ns, median of rounds, min-max; x floor)\n")
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
sizes = sorted({k[0] for k in cost})
cases = [c for c in dict.fromkeys(k[1] for k in cost)]
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

# Control plane: bench/apply_scale.sh's applies of N static FDB entries, and
# of the same file with none (the fixed cost at that FDB capacity).
applies = defaultdict(list)  # entries -> [row]
empties = defaultdict(list)  # capacity -> [row]
for r in rows("apply.csv"):
    n = int(r["entries"])
    (applies[n] if n else empties[int(r["capacity"])]).append(r)
if applies:
    def secs(group, f):
        return {k: [f(r) for r in v] for k, v in group.items()}

    def fmt_s(v):
        return f"{statistics.median(v):.2f} ({min(v):.2f}-{max(v):.2f})" if v else "-"

    apply_s = secs(applies, lambda r: float(r["apply_s"]))
    cpu_s = secs(applies, lambda r: float(r["cpu_s"]))
    read_s = secs(applies, lambda r: float(r["read_s"]))
    rest_s = secs(applies, lambda r: float(r["apply_s"]) - float(r["read_s"]))
    fixed_s = secs(empties, lambda r: float(r["apply_s"]))
    runs = max(len(v) for v in applies.values())
    print(f"\n### Control plane: `ovx apply` of N static FDB entries to a fresh instance "
          f"(s, median (min-max) of {runs} runs)\n")
    print("| FDB entries | apply (wall) | apply (CPU, user+sys) | reading the file | the rest "
          "| same file without entries | peak RSS, MB |")
    print("|---|---|---|---|---|---|---|")
    capacity = {}
    for n in sorted(applies):
        capacity[n] = int(applies[n][0]["capacity"])
        rss = [int(r["rss_kb"]) / 1024 for r in applies[n]]
        print(f"| {n:,} | {fmt_s(apply_s[n])} | {fmt_s(cpu_s[n])} | {fmt_s(read_s[n])} "
              f"| {fmt_s(rest_s[n])} "
              f"| {fmt_s(fixed_s.get(capacity[n], []))} | {statistics.median(rss):.0f} |")

    mem = defaultdict(dict)  # max_entries -> {entries: row}
    for r in rows("fdb_memory.csv"):
        mem[int(r["max_entries"])][int(r["entries"])] = r
    if mem:
        print("\n### Kernel memory of the FDB map (bpftool `bytes_memlock`)\n")
        print("| FDB entries | map | max_entries | memlock, empty | memlock, full "
              "| bytes per max entry | bytes per used entry |")
        print("|---|---|---|---|---|---|---|")
        for n in sorted(applies):
            at = mem.get(capacity[n], {})
            if n not in at:
                continue
            m, memlock = at[n], int(at[n]["bytes_memlock"])
            empty = f"{int(at[0]['bytes_memlock']):,}" if 0 in at else "-"
            print(f"| {n:,} | {m['type']}, flags {m['flags']}, key {m['bytes_key']} B, "
                  f"value {m['bytes_value']} B | {capacity[n]:,} | {empty} | {memlock:,} "
                  f"| {memlock / capacity[n]:.1f} | {memlock / n:.1f} |")

    if shutil.which("gnuplot") and len(applies) > 1:
        dat = os.path.join(out, "apply_scale.dat")
        with open(dat, "w") as f:
            for n in sorted(applies):
                f.write(f"{n} " + " ".join(
                    f"{statistics.median(v[n])} {min(v[n])} {max(v[n])}"
                    for v in (apply_s, read_s, rest_s)) + "\n")
        gnuplot(f"""set terminal png size 900,500 noenhanced
set output '{os.path.join(out, "apply_scale.png")}'
set logscale x
set xlabel 'static FDB entries in the file'
set ylabel 'seconds (median, bars: min-max)'
set yrange [0:2.5<*]
set format x '%.0f'
set rmargin 8
set grid
set key top left
set title 'ovx apply -f FILE to a fresh instance: wall time and its parts'
plot '{dat}' using 1:2:3:4 with yerrorlines title 'apply (wall)', \\
     '' using 1:5:6:7 with yerrorlines title 'reading the file (libyaml + checks)', \\
     '' using 1:8:9:10 with yerrorlines title 'the rest: programs, desired state, map writes', \\
     2 with lines dashtype 2 title 'target for 1M: 2 s'
""")
