#!/usr/bin/env bash
# One million static FDB entries through the CLI: `ovx apply` of a file with
# N remotes (time, peak memory), the same file with 10 entries changed (how
# many map entries it writes), and `ovx fdb show` streaming them all. The
# apply times by size, with the read/load split, are bench/apply_scale.sh's.
#
#   bench/fdb_scale.sh [N]      # default 1000000; needs root
#
# Works in a namespace of its own (ovxscale-<pid>, a veth underlay, XDP
# generic) and removes it, and the instance, whatever happens.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OVX=${OVX:-$root/build/ovx}
n=${1:-1000000}
[[ $(id -u) -eq 0 ]] || { echo "fdb_scale: needs root" >&2; exit 2; }
source "$root/bench/scale_env.sh"
scale_env ovxscale

/usr/bin/python3 "$root/bench/fdb_file.py" write "$n" "$dir/a.yaml"
/usr/bin/python3 "$root/bench/fdb_file.py" write "$n" "$dir/b.yaml" --changed

measure() { # LABEL CMD...: runs CMD, prints wall seconds and peak RSS
	local label=$1
	shift
	/usr/bin/time -f "%e %M" -o "$dir/time" "$@" >"$dir/out" 2>&1 || { cat "$dir/out"; exit 1; }
	read -r secs kb <"$dir/time"
	printf '%-44s %7.2f s  %6d MB peak RSS   %s\n' "$label" "$secs" $((kb / 1024)) \
		"$(tail -1 "$dir/out" | cut -c1-90)"
}
echo "ovx FDB scale: $n static entries ($(du -h "$dir/a.yaml" | cut -f1) of YAML)"
measure "apply (parse, load, diff, batch writes)" "$OVX" --netns "$ns" apply -f "$dir/a.yaml"
measure "apply again, same file" "$OVX" --netns "$ns" apply -f "$dir/a.yaml"
measure "apply, 10 entries changed" "$OVX" --netns "$ns" apply -f "$dir/b.yaml"
measure "fdb show (streamed) | wc -l" sh -c "'$OVX' --netns '$ns' fdb show | wc -l"
measure "fdb show --json | wc -c" sh -c "'$OVX' --netns '$ns' fdb show --json | wc -c"
