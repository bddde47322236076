#!/usr/bin/env bash
# Control plane: seconds for `ovx apply -f FILE` to apply N static FDB
# entries to a fresh instance (wall time of the command, programs loaded and
# attached included), the share of it spent reading the file, peak RSS, and
# the FDB map's kernel memory from bpftool.
#
#   bench/apply_scale.sh [--quick] [--runs R] [--out DIR] [N...]
#
# Default: N = 10000 100000 1000000, 3 runs each (--quick: 200 and 2000, 2
# runs). Each run also applies the same file with no entries and the same FDB
# capacity (entries=0 rows: the fixed cost, and the map's memory with nothing
# in it). After the first run of each size the instance's FDB is checked
# entry by entry. Writes DIR/apply.csv
# (entries,capacity,run,apply_s,cpu_s,read_s,rss_kb; cpu_s: user + system
# time of the command, less disturbed by other load on the machine than its
# wall time) and DIR/fdb_memory.csv
# (entries,max_entries,type,flags,bytes_key,bytes_value,bytes_memlock).
# Needs root; works in a namespace of its own (ovxapply-<pid>, a veth
# underlay, XDP generic) and removes it, and the instance, whatever happens.
set -Eeuo pipefail
trap 'echo "apply_scale: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
here=$(cd "$(dirname "$0")" && pwd)
build=${OVX_BUILD:-$here/../build}
OVX=${OVX:-$build/ovx}
READ=$build/bench/ovx_config_read
out=$here/results
runs=3 quick=0 sizes=()
while (($#)); do
	case $1 in
	--quick) quick=1 ;;
	--runs) runs=$2; shift ;;
	--out) out=$2; shift ;;
	[0-9]*) sizes+=("$1") ;;
	*) echo "usage: $0 [--quick] [--runs R] [--out DIR] [N...]" >&2; exit 1 ;;
	esac
	shift
done
if ((${#sizes[@]} == 0)); then
	if ((quick)); then sizes=(200 2000) runs=2; else sizes=(10000 100000 1000000); fi
fi
[[ $(id -u) -eq 0 ]] || { echo "apply_scale: needs root" >&2; exit 2; }
for tool in "$OVX" "$READ"; do
	[[ -x $tool ]] || { echo "apply_scale: $tool is not built" >&2; exit 2; }
done

source "$here/scale_env.sh"
scale_env ovxapply

mkdir -p "$out"
csv=$out/apply.csv mem=$out/fdb_memory.csv
echo "entries,capacity,run,apply_s,cpu_s,read_s,rss_kb" >"$csv"
echo "entries,max_entries,type,flags,bytes_key,bytes_value,bytes_memlock" >"$mem"

# apply_fresh N CAPACITY FILE RUN: one timed apply to a fresh instance, one
# CSV row.
apply_fresh() {
	local n=$1 capacity=$2 file=$3 run=$4 secs kb user sys read
	"$OVX" --netns "$ns" down >/dev/null
	/usr/bin/time -f "%e %M %U %S" -o "$dir/time" "$OVX" --netns "$ns" apply -f "$file" \
		>"$dir/out" 2>&1 || { echo "apply_scale: ovx apply of $n entries failed:" >&2; cat "$dir/out" >&2; exit 1; }
	read -r secs kb user sys <"$dir/time"
	read=$("$READ" "$file") || { echo "apply_scale: ovx_config_read $file failed" >&2; exit 1; }
	read=${read%% *}
	echo "$n,$capacity,$run,$secs,$(awk "BEGIN { print $user + $sys }"),$read,$kb" >>"$csv"
}

# fdb_memory N: the FDB map's figures from bpftool, one CSV row.
fdb_memory() {
	bpftool map show pinned "/sys/fs/bpf/ovx/$ns/ovx_fdb" -j >"$dir/map.json" ||
		{ echo "apply_scale: bpftool cannot read the FDB map of instance $ns" >&2; exit 1; }
	/usr/bin/python3 - "$1" "$dir/map.json" >>"$mem" <<'PY'
import json, sys
m = json.load(open(sys.argv[2]))
print(",".join(str(v) for v in (sys.argv[1], m["max_entries"], m["type"], m["flags"],
                                m["bytes_key"], m["bytes_value"], m["bytes_memlock"])))
PY
}

for n in "${sizes[@]}"; do
	capacity=$((n + 1024))
	/usr/bin/python3 "$here/fdb_file.py" write "$n" "$dir/full.yaml" --capacity $capacity
	/usr/bin/python3 "$here/fdb_file.py" write 0 "$dir/empty.yaml" --capacity $capacity
	for ((r = 1; r <= runs; r++)); do
		apply_fresh 0 $capacity "$dir/empty.yaml" "$r"
		((r > 1)) || fdb_memory 0
		apply_fresh "$n" $capacity "$dir/full.yaml" "$r"
		if ((r == 1)); then
			fdb_memory "$n"
			"$OVX" --netns "$ns" fdb show --json >"$dir/fdb.json"
			/usr/bin/python3 "$here/fdb_file.py" check "$n" <"$dir/fdb.json" >/dev/null ||
				{ echo "apply_scale: the FDB after applying $n entries is wrong" >&2; exit 1; }
		fi
		echo "apply_scale: $n entries, run $r: $(tail -1 "$csv")" >&2
	done
	rm -f "$dir/full.yaml" "$dir/fdb.json"
done
