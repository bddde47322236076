#!/usr/bin/env bash
# One topology (2 hosts on a veth/bridge underlay, 1 VM each), built per round
# with ovx hosts (XDP native, XDP generic, TC only: underlay.mode tc) and with
# kernel-vxlan hosts,
# in rotating order, so all see the same machine noise.
# Prints CSV: round,dataplane,metric,value.
#   TCP Gbit/s with 1 and 4 streams (iperf3), ping RTT p50/p99 in microseconds,
#   and the 64-byte packet rate: frames per second sent by VM b1 (ovx_pps_gen)
#   and received on VM b2's interface, and the dataplane core's CPU time per
#   received frame. Each round also measures the generator's own ceiling.
# Exits 1 when any measurement failed or gave nothing (the rows that worked
# are printed all the same).
#
#   e2e_compare.sh [--quick]          the comparison (CSV on stdout)
#   e2e_compare.sh --profile KIND     where the dataplane core's time goes in
#                                     KIND's 64-byte run (ovx, ovx-generic,
#                                     ovx-tc or kernel): perf record -C 0 -g, then a table
#                                     of ns per frame by stage (perf_stages.py)
#
# The 64-byte run, on this 2-core machine: the generator runs on the last CPU
# (taskset), and h1's VM port steers its frames (RPS) to CPU 0, where the
# whole overlay runs in softirq: h1's dataplane, the underlay bridge, h2's
# dataplane and the delivery into b2. b2 drops the frames at its ingress
# (nftables netdev hook, with a counter), so the guest's own UDP stack costs
# nothing on the dataplane core. Received = b2's eth0 rx_packets: what the
# overlay delivered into the VM.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../scripts/lib/ovx.sh"

# E2E_ROUNDS, E2E_KINDS: fewer rounds or dataplanes (e.g. "ovx kernel").
rounds=${E2E_ROUNDS:-3} secs=5 pings=500 pps_args=(--seconds 5) profile=""
case ${1:-} in
--quick) rounds=1 secs=1 pings=20 pps_args=(--count 20000 --seconds 3) ;; # 20,000 frames
--profile)
	profile=${2:-}
	[[ $profile =~ ^(ovx|ovx-generic|ovx-tc|kernel)$ ]] ||
		{ echo "usage: $0 --profile ovx|ovx-generic|ovx-tc|kernel" >&2; exit 1; }
	command -v perf >/dev/null || { echo "missing tool: perf (Debian package linux-perf)" >&2; exit 1; }
	;;
"") ;;
*) echo "usage: $0 [--quick | --profile KIND]" >&2; exit 1 ;;
esac
export TOPO_QUIET=1
GEN=${OVX_PPS_GEN:-$(dirname "$OVX")/bench/ovx_pps_gen}
[[ -x $GEN ]] || topo_die "generator not found at $GEN (build it, or set OVX_PPS_GEN)"
command -v nft >/dev/null || topo_die "missing tool: nft (Debian package nftables)"
(($(nproc) >= 2)) || topo_die "the 64-byte run needs 2 CPUs: one generates, one carries the overlay"
dp_cpu=0 gen_cpu=$(($(nproc) - 1))
clk_tck=$(getconf CLK_TCK)

# cpu_busy CPU: system + irq + softirq time of CPU so far, in /proc/stat
# ticks. User and nice time are left out: on this shared machine they are
# other people's processes; the dataplane runs in softirq (and in system
# time when a softirq is run from a syscall's bottom-half enable).
cpu_busy() {
	awk -v c="cpu$1" '$1 == c { print $4 + $7 + $8 }' /proc/stat
}

# no_bridge_netfilter: this kernel has br_netfilter built in, so every
# namespace starts with bridge-nf-call-{iptables,ip6tables,arptables} = 1 and
# each bridge (the underlay's, a kernel host's) runs the netfilter hooks on
# every frame, with no rule to run: a large share of the kernel dataplane's
# cost in a profile. A stock Debian host loads br_netfilter only for Docker
# and the like, so the comparison is made without it.
no_bridge_netfilter() {
	local ns
	[[ -d /proc/sys/net/bridge ]] || return 0 # not loaded: nothing to turn off
	for ns in "${TOPO_NAMESPACES[@]}"; do
		ip netns exec "$ns" sysctl -q -w net.bridge.bridge-nf-call-iptables=0 \
			net.bridge.bridge-nf-call-ip6tables=0 net.bridge.bridge-nf-call-arptables=0 ||
			return 1
	done
}

rx_packets() { # NS DEV
	ip netns exec "$1" cat "/sys/class/net/$2/statistics/rx_packets"
}

# sink NS DEV: drops UDP to port 9 at DEV's ingress (netdev hook, before
# the IP stack) and counts it; `nft list counter` reads it back.
sink() {
	ip netns exec "$1" nft -f - <<EOF
table netdev ovxbench {
	counter sunk { }
	chain in {
		type filter hook ingress device "$2" priority 0; policy accept;
		udp dport 9 counter name sunk drop
	}
}
EOF
}

sunk() { # NS
	ip netns exec "$1" nft list counter netdev ovxbench sunk |
		sed -n 's/.*packets \([0-9]\+\).*/\1/p'
}

# steer_to_dataplane_core: h1's VM port hands what b1 sends to the
# dataplane core (RPS), so the overlay's work runs there, not on the
# generator's core.
steer_to_dataplane_core() {
	topo_host_exec h1 sh -c "printf '%x' $((1 << dp_cpu)) >/sys/class/net/vm1/queues/rx-0/rps_cpus" ||
		{ echo "cannot set RPS on h1's vm1" >&2; return 1; }
}

# generate ARGS...: the generator in VM b1, on its core, 64-byte frames to
# b2's addresses; ARGS say how many or how long.
generate() {
	taskset -c "$gen_cpu" ip netns exec "$(topo_vm_ns b1)" "$GEN" --iface eth0 \
		--dst-mac "$(topo_vm_mac b2)" --src-ip "$(topo_vm_ip b1)" --dst-ip "$(topo_vm_ip b2)" "$@"
}

# pps ROUND KIND RX_NS RX_DEV: 64-byte UDP frames from VM b1 to b2's
# addresses, counted on RX_DEV in RX_NS (which has a sink); prints the rows.
pps() {
	local round=$1 kind=$2 rx_ns=$3 rx_dev=$4 out rx0 rx1 c0 c1 sent secs got n
	steer_to_dataplane_core || return 1
	rx0=$(rx_packets "$rx_ns" "$rx_dev") && c0=$(cpu_busy "$dp_cpu") || return 1
	if ! out=$(generate "${pps_args[@]}" 2>&1); then
		echo "pps: $kind: generator failed: $out" >&2
		return 1
	fi
	sleep 0.2 # the frames still in flight
	rx1=$(rx_packets "$rx_ns" "$rx_dev") && c1=$(cpu_busy "$dp_cpu") || return 1
	sent=$(sed -n 's/.*sent=\([0-9]\+\).*/\1/p' <<<"$out")
	secs=$(sed -n 's/.*seconds=\([0-9.]\+\).*/\1/p' <<<"$out")
	got=$((rx1 - rx0))
	n=$(sunk "$rx_ns")
	if ((got <= 0 || ${n:-0} <= 0)); then
		echo "pps: $kind: $out, but $rx_dev received $got frames, its sink counted ${n:-nothing}" >&2
		return 1
	fi
	/usr/bin/python3 - "$round" "$kind" "$sent" "$secs" "$got" "$((c1 - c0))" "$clk_tck" <<'EOF'
import sys
round_, kind, sent, secs, got, ticks, hz = sys.argv[1:]
sent, secs, got, ticks, hz = int(sent), float(secs), int(got), int(ticks), int(hz)
print(f"{round_},{kind},pps_64B_sent,{sent / secs:.0f}")
print(f"{round_},{kind},pps_64B_received,{got / secs:.0f}")
print(f"{round_},{kind},cpu_ns_per_pkt_64B,{ticks / hz * 1e9 / got:.0f}")
EOF
}

# topology KIND: the two hosts with KIND's dataplane, one VM on each,
# configured; VM b1 has learned b2's MAC and b2 b1's.
topology() {
	local kind=$1
	topo_init
	topo_add_underlay
	topo_add_tenant blue 5001
	if [[ $kind == ovx* ]]; then
		TOPO_XDP_MODE=native
		[[ $kind == ovx-generic ]] && TOPO_XDP_MODE=generic
		[[ $kind == ovx-tc ]] && TOPO_XDP_MODE=tc
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
	no_bridge_netfilter || return 1
	if [[ $kind == ovx* ]]; then
		ovx_apply h1 >/dev/null && ovx_apply h2 >/dev/null ||
			{ echo "$kind: ovx apply failed: $OVX_OUT" >&2; return 1; }
	fi
	(($(topo_ping_received b1 10.0.0.2 3) > 0)) || { echo "$kind: b1 cannot ping b2" >&2; return 1; }
}

measure() { # ROUND KIND
	local round=$1 kind=$2 gbps rc=0
	topology "$kind" || return 1
	for streams in 1 4; do
		topo_iperf_server b2 || { rc=1; continue; }
		if gbps=$(topo_iperf_client b1 10.0.0.2 "$secs" 5201 -P "$streams"); then
			echo "$round,$kind,tcp_gbps_${streams}stream,$gbps"
		else
			rc=1
		fi
	done
	# A full run: 500 echoes 4 ms apart, so the p99 is the 5th worst, not the 2nd.
	topo_vm_exec b1 ping -n -q -c 50 -i 0.01 10.0.0.2 >/dev/null 2>&1
	topo_vm_exec b1 ping -n -c "$pings" -i 0.004 10.0.0.2 2>/dev/null |
		/usr/bin/python3 -c '
import re, sys, statistics
rtts = sorted(float(m.group(1)) * 1000 for m in (re.search(r"time=([0-9.]+)", l) for l in sys.stdin) if m)
if not rtts:
    sys.exit("no ping reply")
q = lambda p: rtts[min(len(rtts) - 1, int(p * len(rtts)))]
print(f"'"$round,$kind"',rtt_p50_us,{q(0.50):.0f}")
print(f"'"$round,$kind"',rtt_p99_us,{q(0.99):.0f}")
' || rc=1
	sink "$(topo_vm_ns b2)" eth0 && pps "$round" "$kind" "$(topo_vm_ns b2)" eth0 || rc=1
	return $rc
}

# ceiling ROUND: the generator with nothing behind it: h1's VM port drops
# every frame at its ingress, on the dataplane core, as in the real runs
# (same first hop, same RPS). What the generator sends here is the most it
# could send to any dataplane.
ceiling() {
	topo_init
	topo_add_underlay
	topo_add_tenant blue 5001
	topo_add_host h1 192.168.77.1 # an ovx host that is never applied: a bare port
	topo_add_host h2 192.168.77.2
	topo_add_vm h1 b1 blue 02:00:00:00:01:01 10.0.0.1/24
	topo_add_vm h2 b2 blue 02:00:00:00:02:01 10.0.0.2/24
	no_bridge_netfilter || return 1
	sink "$(topo_host_ns h1)" vm1 && pps "$1" generator "$(topo_host_ns h1)" vm1
}

# profile KIND: KIND's 64-byte run with perf sampling the dataplane core for
# 3 s in its middle; the frames b2 received in those 3 s turn samples into
# ns per frame. perf's own sampling costs a little: figures run slightly
# above the comparison's.
profile() {
	local kind=$1 gen rx0 rx1 data
	topology "$kind" && sink "$(topo_vm_ns b2)" eth0 && steer_to_dataplane_core || return 1
	generate --seconds 5 >/dev/null &
	gen=$!
	TOPO_PIDS+=("$gen")
	sleep 1
	data=$TOPO_DIR/perf.data
	rx0=$(rx_packets "$(topo_vm_ns b2)" eth0)
	perf record -q -C "$dp_cpu" -g -o "$data" -- sleep 3 >/dev/null 2>&1 ||
		{ echo "profile: perf record failed" >&2; return 1; }
	rx1=$(rx_packets "$(topo_vm_ns b2)" eth0)
	wait "$gen" || { echo "profile: the generator failed" >&2; return 1; }
	echo "$kind: $(((rx1 - rx0) / 3)) frames/s received while perf recorded"
	/usr/bin/python3 "$here/perf_stages.py" "$data" $((rx1 - rx0))
}

if [[ -n $profile ]]; then
	(
		trap topo_cleanup EXIT INT TERM
		profile "$profile"
	)
	exit
fi

echo "round,dataplane,metric,value"
failed=0
for ((r = 0; r < rounds; r++)); do
	# Rotate which goes first, so none always runs on a warmer machine.
	read -ra kinds <<<"${E2E_KINDS:-ovx ovx-generic ovx-tc kernel}"
	order=""
	for ((i = 0; i < ${#kinds[@]}; i++)); do
		order+=" ${kinds[(i + r) % ${#kinds[@]}]}"
	done
	# A subshell per topology: the library's state and traps start afresh.
	for kind in $order ceiling; do
		(
			trap topo_cleanup EXIT INT TERM
			if [[ $kind == ceiling ]]; then ceiling "$r"; else measure "$r" "$kind"; fi
		) || { echo "e2e: round $r, $kind: a measurement failed" >&2; failed=1; }
	done
done
exit $failed
