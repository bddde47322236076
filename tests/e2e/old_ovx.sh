#!/usr/bin/env bash
# Builds (once) the ovx of an older map ABI that test_upgrade_migrate migrates
# from, and prints its path. The tree is extracted from the repository's
# history into <build>/ovx-abi<N> and kept for the next run. One builder at a
# time: run-tests.sh starts this in the background for the whole suite, and the
# test, if it comes first, waits for that build instead of starting its own.
#   old_ovx.sh ABI BUILD_DIR
set -euo pipefail
from=${1:?usage: old_ovx.sh ABI BUILD_DIR}
build=${2:?usage: old_ovx.sh ABI BUILD_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $from in
1) commit=954cadd ;;
2) commit=85c3d77 ;;
3) commit=b29534d ;;
4) commit=9496573 ;;
5) commit=8f0966c ;;
*) echo "old_ovx: ABI 1 to 5, not '$from'" >&2; exit 2 ;;
esac
src=$build/ovx-abi$from
bin=$src/build/ovx

exec 9>"$build/.ovx-abi$from.lock"
flock 9
if [[ -x $bin ]]; then
	echo "$bin"
	exit 0
fi
rm -rf "$src" && mkdir -p "$src"
git -C "$root" archive "$commit" | tar -x -C "$src" ||
	{ echo "old_ovx: cannot extract git $commit (needs the repository's history)" >&2; exit 2; }
# The ABI v2 and v1 programs hand frames from XDP to TC in XDP metadata,
# which this kernel (6.18) refuses to XDP programs (bpf_xdp_adjust_meta), and
# their loader loads the XDP program even in mode tc, where it is never
# attached. Their tree is built with that one call replaced by a head
# adjustment the kernel always refuses (XDP_DROP if it ever ran), so the old
# instance runs in mode tc; what migrates (maps, pins, TC programs) is
# untouched. ABI v3 to v5 run as they are, in native XDP mode.
if ((from < 3)); then
	grep -q 'bpf_xdp_adjust_meta(ctx, -(int)sizeof(\*meta))' "$src/bpf/xdp_underlay.bpf.c" ||
		{ echo "old_ovx: git $commit: the adjust_meta call to replace is not where expected" >&2; exit 2; }
	sed -i 's/bpf_xdp_adjust_meta(ctx, -(int)sizeof(\*meta))/bpf_xdp_adjust_head(ctx, 0x7fffffff)/' "$src/bpf/xdp_underlay.bpf.c"
fi
if ! { cmake -S "$src" -B "$src/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	nice -n 10 cmake --build "$src/build" --target ovx -j2 >"$src/build.log" 2>&1; }; then
	echo "old_ovx: building ovx $commit failed:" >&2
	tail -20 "$src/build.log" >&2
	rm -f "$bin"
	exit 2
fi
echo "$bin"
