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
if "--quick" in sys.argv[2:]:
    print("**--quick: a smoke run of the harness, with tiny counts: these are not "
          "measurements.**\n")


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
by_vteps = defaultdict(list)  # (VTEPs, case) -> [ns], the flood sweep
by_encap = defaultdict(list)  # (encap, family, case) -> [ns], the encapsulation sweep
for r in rows("prog_cost.csv"):
    ns = float(r["median_ns"])
    if r["sweep"] == "fdb":
        cost[(int(r["fdb_entries"]), r["case"])].append(ns)
    elif r["sweep"] == "segments":  # the size column holds the segment count
        by_segments[(int(r["fdb_entries"]), r["case"])].append(ns)
    elif r["sweep"] == "flood":  # the size column holds the remote VTEPs
        by_vteps[(int(r["fdb_entries"]), r["case"])].append(ns)
    elif r["sweep"] == "forward":  # forwarding pointers: docs/BENCHMARKS.md by hand
        continue
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
sweep_table("Per-packet cost of a broadcast by number of remote VTEPs", by_vteps, "VTEPs")

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

# The end-to-end comparison: per round, each dataplane, so a ratio can be
# taken within a round (same machine noise) as well as of the medians.
E2E_METRICS = {  # metric -> (label, label on the plot, higher is better)
    "pps_64B_received": ("64-byte frames/s received in VM b2", "64 B frames/s (up)", True),
    "pps_64B_sent": ("64-byte frames/s sent by VM b1", "", True),
    "cpu_ns_per_pkt_64B": ("CPU ns per received frame, dataplane core",
                           "CPU per 64 B frame (down)", False),
    "tcp_gbps_1stream": ("TCP Gbit/s, 1 stream", "TCP 1 stream (up)", True),
    "tcp_gbps_4stream": ("TCP Gbit/s, 4 streams", "TCP 4 streams (up)", True),
    "rtt_p50_us": ("RTT p50, µs", "RTT p50 (down)", False),
    "rtt_p99_us": ("RTT p99, µs", "RTT p99 (down)", False),
}
# ovx's dataplanes: CSV name, table heading, short name for the ratios.
OVX_KINDS = (("ovx", "ovx (XDP native)", "native"), ("ovx-generic", "ovx (XDP generic)", "generic"),
             ("ovx-tc", "ovx (TC only)", "tc"))
E2E_DATAPLANES = tuple(k[0] for k in OVX_KINDS) + ("kernel",)
e2e = defaultdict(dict)  # (metric, dataplane) -> {round: value}
for r in rows("e2e.csv"):
    e2e[(r["metric"], r["dataplane"])][r["round"]] = float(r["value"])


def vals(metric, dataplane):
    return list(e2e.get((metric, dataplane), {}).values())


def fmt_e2e(v):
    if not v:
        return "-"
    integral = all(x == int(x) for x in v)
    f = (lambda x: f"{x:,.0f}") if integral else (lambda x: f"{x:.2f}")
    m = statistics.median(v)
    return f"{f(m)} ({f(min(v))}-{f(max(v))})"


def ratios(metric, dataplane):
    """dataplane / kernel: the median of the ratios taken within each round
    (the dataplanes of a round run back to back, in the same machine noise),
    and those per-round ratios. One round: the ratio of the medians."""
    a, k = e2e.get((metric, dataplane), {}), e2e.get((metric, "kernel"), {})
    per_round = [a[r] / k[r] for r in a if r in k and k[r]]
    if per_round:
        return statistics.median(per_round), per_round
    if a and k:
        return statistics.median(a.values()) / statistics.median(k.values()), []
    return None, []


def fmt_ratio(metric, dataplane):
    med, per_round = ratios(metric, dataplane)
    if med is None:
        return "-"
    if len(per_round) < 2:
        return f"{med:.2f}"
    return f"{med:.2f} ({min(per_round):.2f}-{max(per_round):.2f})"


e2e_metrics = [m for m in E2E_METRICS if any((m, d) in e2e for d in E2E_DATAPLANES)]
if e2e_metrics:
    print("\n### End to end, ovx vs the kernel's vxlan+bridge (median, min-max)\n")
    print("Ratios: the median of the ratios taken within each round, and their "
          "range in parentheses.\n")
    print("| metric | " + " | ".join(k[1] for k in OVX_KINDS) + " | kernel | " +
          " | ".join(f"{k[2]} / kernel" for k in OVX_KINDS) + " |")
    print("|---|" + "---|" * (2 * len(OVX_KINDS) + 1))
    for m in e2e_metrics:
        cells = [fmt_e2e(vals(m, d)) for d in E2E_DATAPLANES]
        print(f"| {E2E_METRICS[m][0]} | " + " | ".join(cells) + " | " +
              " | ".join(fmt_ratio(m, k[0]) for k in OVX_KINDS) + " |")
    ceiling = vals("pps_64B_sent", "generator")
    best = max((statistics.median(vals("pps_64B_received", d))
                for d in E2E_DATAPLANES if vals("pps_64B_received", d)), default=0)
    if ceiling and best:
        print(f"\nGenerator ceiling (the same generator and first hop, every frame dropped at "
              f"h1's VM port): {fmt_e2e(ceiling)} frames/s, "
              f"{statistics.median(ceiling) / best:.2f}x the fastest dataplane's median.")

    # The targets: met or missed, and by how much. The frame rate is
    # judged twice: as received, and per second of the dataplane core's CPU
    # (1 / CPU per frame), which does not depend on how much of the shared
    # core the other processes on the machine left to each run.
    TARGETS = (  # metric, wanted ratio ovx / kernel, label, judge 1 / the ratio
        ("pps_64B_received", 1.5, "64-byte frames/s >= 1.5x kernel", False),
        ("cpu_ns_per_pkt_64B", 1.5, "64-byte frames per dataplane-core second >= 1.5x kernel",
         True),
        ("tcp_gbps_1stream", 1.0, "TCP 1 stream >= kernel", False),
        ("tcp_gbps_4stream", 1.0, "TCP 4 streams >= kernel", False),
        ("rtt_p99_us", 1.0, "RTT p99 <= kernel", False),
    )
    print("\n| target | " + " | ".join(f"{k[2]} / kernel" for k in OVX_KINDS) + " |")
    print("|---|" + "---|" * len(OVX_KINDS))
    for m, want, label, invert in TARGETS:
        cells = []
        for d, _, _ in OVX_KINDS:
            med, _ = ratios(m, d)
            if med is None:
                cells.append("-")
                continue
            higher_better = E2E_METRICS[m][2] != invert
            med = 1 / med if invert else med
            ok = med >= want if higher_better else med <= want
            gap = abs(med / want - 1) * 100
            cells.append(f"{med:.2f}: " + ("met" if ok else f"missed by {gap:.0f}%"))
        print(f"| {label} | " + " | ".join(cells) + " |")


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

# Plot: every end-to-end metric as ovx / kernel (1 = the kernel), the bars
# the median of the per-round ratios, the error bars their range.
if shutil.which("gnuplot") and e2e_metrics and any(ratios(m, "ovx")[0] for m in e2e_metrics):
    dat = os.path.join(out, "e2e_ratio.dat")
    with open(dat, "w") as f:
        for m in e2e_metrics:
            if not E2E_METRICS[m][1]:  # sent: the same as received, or the generator's
                continue
            cols = []
            for d, _, _ in OVX_KINDS:
                med, per_round = ratios(m, d)
                per_round = per_round or ([med] if med else [])
                cols += [f"{med:.3f} {min(per_round):.3f} {max(per_round):.3f}" if med
                         else "- - -"]
            f.write(f'"{E2E_METRICS[m][1]}" ' + " ".join(cols) + "\n")
    gnuplot(f"""set terminal png size 1100,550 noenhanced
set output '{os.path.join(out, "e2e_ratio.png")}'
set style data histograms
set style histogram errorbars gap 2 lw 1
set style fill solid border -1
set datafile missing '-'
set ylabel 'ovx / kernel vxlan+bridge (per-round ratios: median, range)'
set xtics rotate by -15
set yrange [0:*]
set grid ytics
set title 'ovx against the kernel on the same 2-host veth topology (1.0 = the kernel)'
set key outside top center horizontal
plot '{dat}' using 2:3:4:xtic(1) title 'ovx, XDP native', \\
     '' using 5:6:7 title 'ovx, XDP generic', \\
     '' using 8:9:10 title 'ovx, TC only', \\
     1 with lines lw 2 lc rgb 'black' title 'kernel'
""")
