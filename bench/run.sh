#!/usr/bin/env bash
# ovx benchmark: per-packet program cost (BPF_PROG_TEST_RUN, next to an empty
# program's floor; by FDB size, and by encapsulation and underlay family) and
# end to end, ovx against the kernel's own vxlan+bridge on the same namespace
# topology (2 hosts, 1 VM each), alternating, in one run; and the control
# plane: applying 10k, 100k and 1M FDB entries, and the FDB's kernel memory.
#
#   bench/run.sh [--quick] [--no-e2e] [--out DIR]
#
# Writes DIR/prog_cost.csv, DIR/e2e.csv, DIR/apply.csv, DIR/fdb_memory.csv,
# DIR/summary.md (medians, min-max, ratios, the issue's targets) and, with
# gnuplot, the PNG plots; prints the summary. Exits 1 when a measurement
# failed (the summary is still written). Needs root; builds nothing
# (OVX_BUILD, default build/).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
build=${OVX_BUILD:-$root/build}
out=$root/bench/results
quick=0 e2e=1
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--no-e2e) e2e=0 ;;
	--out) out=$2; shift ;;
	*) echo "usage: $0 [--quick] [--no-e2e] [--out DIR]" >&2; exit 1 ;;
	esac
	shift
done
[[ $(id -u) -eq 0 ]] || { echo "bench: needs root (BPF, namespaces)" >&2; exit 2; }
mkdir -p "$out"

echo "== per-packet program cost (BPF_PROG_TEST_RUN) =="
args=()
((quick)) && args+=(--quick)
"$build/bench/ovx_prog_cost" "${args[@]}" >"$out/prog_cost.csv"

: >"$out/e2e.csv"
failed=0
if ((e2e)); then
	echo "== end to end: ovx vs kernel vxlan+bridge, alternating (TCP, RTT, 64-byte frames) =="
	OVX=$build/ovx OVX_PPS_GEN=$build/bench/ovx_pps_gen \
		bash "$here/e2e_compare.sh" $( ((quick)) && echo --quick) >"$out/e2e.csv" || failed=1
fi

echo "== control plane: ovx apply of N FDB entries, FDB map memory =="
OVX_BUILD=$build bash "$here/apply_scale.sh" $( ((quick)) && echo --quick) --out "$out" || failed=1

/usr/bin/python3 "$here/report.py" "$out" $( ((quick)) && echo --quick) | tee "$out/summary.md"
((!failed)) || { echo "bench: a measurement failed (see above)" >&2; exit 1; }
