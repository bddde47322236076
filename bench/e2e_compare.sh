#!/usr/bin/env bash
# One topology (2 hosts on a veth/bridge underlay, 1 VM each), built per round
# with ovx hosts (XDP native, then XDP generic) and with kernel-vxlan hosts,
# in rotating order, so all see the same machine noise.
# Prints CSV: round,dataplane,metric,value.
#   TCP Gbit/s with 1 and 4 streams (iperf3), ping RTT p50/p99 in microseconds.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/ovx.sh"

rounds=3 secs=5 pings=200
[[ ${1:-} == --quick ]] && { rounds=1 secs=1 pings=20; }
export TOPO_QUIET=1

measure() { # ROUND KIND
	local round=$1 kind=$2 gbps
	topo_init
	topo_add_underlay
	topo_add_tenant blue 5001
	if [[ $kind == ovx* ]]; then
		TOPO_XDP_MODE=native
		[[ $kind == ovx-generic ]] && TOPO_XDP_MODE=generic
		export TOPO_XDP_MODE
		topo_add_host h1 192.168.77.1
		topo_add_host h2 192.168.77.2
	else
		topo_add_kernel_vtep_host h1 192.168.77.1
		topo_add_kernel_vtep_host h2 192.168.77.2
	fi
	topo_add_vm h1 b1 blue 02:00:00:00:01:01 10.0.0.1/24
	topo_add_vm h2 b2 blue 02:00:00:00:02:01 10.0.0.2/24
	topo_finalize
	if [[ $kind == ovx* ]]; then
		ovx_apply h1 >/dev/null && ovx_apply h2 >/dev/null || { topo_cleanup; return 1; }
	fi
	topo_ping_received b1 10.0.0.2 3 >/dev/null
	for streams in 1 4; do
		topo_iperf_server b2 || continue
		if gbps=$(topo_iperf_client b1 10.0.0.2 "$secs" 5201 -P "$streams"); then
			echo "$round,$kind,tcp_gbps_${streams}stream,$gbps"
		fi
	done
	topo_vm_exec b1 ping -n -q -c "$pings" -i 0.01 10.0.0.2 >/dev/null 2>&1
	topo_vm_exec b1 ping -n -c "$pings" -i 0.01 10.0.0.2 2>/dev/null |
		/usr/bin/python3 -c '
import re, sys, statistics
rtts = sorted(float(m.group(1)) * 1000 for m in (re.search(r"time=([0-9.]+)", l) for l in sys.stdin) if m)
if rtts:
    q = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))]
    print(f"'"$round,$kind"',rtt_p50_us,{q(0.50):.0f}")
    print(f"'"$round,$kind"',rtt_p99_us,{q(0.99):.0f}")
'
	topo_cleanup
}

echo "round,dataplane,metric,value"
for ((r = 0; r < rounds; r++)); do
	# Rotate which goes first, so none always runs on a warmer machine.
	case $((r % 3)) in
	0) order="ovx ovx-generic kernel" ;;
	1) order="kernel ovx ovx-generic" ;;
	2) order="ovx-generic kernel ovx" ;;
	esac
	# A subshell per topology: the library's state and traps start afresh.
	for kind in $order; do
		(
			trap topo_cleanup EXIT INT TERM
			measure "$r" "$kind"
		)
	done
done
