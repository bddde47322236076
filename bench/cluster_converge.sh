#!/usr/bin/env bash
# Cluster convergence: N hosts (namespaces), each an ovx instance run by a
# cluster agent with one VM in segment blue-web, one etcd member on the
# underlay network; bench/cluster_converge.cpp moves a MAC between two
# simulated nodes M times and times each host's FDB catching up; then, with
# BURST, moves BURST MACs at once and times every host holding them all.
#   bash bench/cluster_converge.sh [HOSTS] [MOVES] [BURST]   (default 3 100 0)
# Prints the tool's JSON line (per-host and all-hosts p50/p99/max in ms).
# Every host keeps a managed neighbour per remote VTEP, and the kernel's
# neighbour table is one for all namespaces (net.ipv4.neigh.default.
# gc_thresh3, 1,024 by default): with more hosts than fit (HOSTS x (HOSTS+2)
# entries), the run raises gc_thresh2/3 for its duration and restores them
# at exit, saying so (docs/OPERATIONS.md, "Neighbour table").
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OVX=${OVX:-$root/build/ovx}
CONVERGE=${CONVERGE:-$root/build/bench/ovx_cluster_converge}
hosts=${1:-3} moves=${2:-100} burst=${3:-0}
export TOPO_QUIET=1
source "$root/tests/e2e/lib.sh"
source "$root/tests/e2e/cluster_lib.sh"
e2e_init cluster_converge "convergence with $hosts hosts, $moves moves"
neigh=/proc/sys/net/ipv4/neigh/default
need=$((hosts * (hosts + 2) + 256))
if (($(cat $neigh/gc_thresh3) < need)); then
	old_gc2=$(cat $neigh/gc_thresh2) old_gc3=$(cat $neigh/gc_thresh3)
	restore_neigh() { echo "$old_gc2" >$neigh/gc_thresh2; echo "$old_gc3" >$neigh/gc_thresh3; }
	topo_add_cleanup_hook restore_neigh
	echo "$need" >$neigh/gc_thresh3 && echo "$need" >$neigh/gc_thresh2 ||
		e2e_fail "cannot raise the neighbour table to $need entries"
	echo "neighbour table: gc_thresh2/3 raised to $need for this run (restored at exit: $old_gc2/$old_gc3)" >&2
fi
kinds=$(for ((i = 0; i < hosts; i++)); do printf 'ovx '; done)
e2e_build_topology "$kinds" "blue:5001" >/dev/null
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 1 || e2e_fail "etcd"
cluster_write_segments "$TOPO_DIR/cluster.yaml"
cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" >/dev/null || e2e_fail "cluster apply"
# Every host's anchor, the two nodes' and the burst's MACs, with room.
fdb=1024
while ((fdb < hosts + 2 + burst + 256)); do fdb=$((fdb * 2)); done
instances=()
# All agents at once: one after the other, each join would make every agent
# already running apply its longer flood list, N^2/2 applies in all.
start=$SECONDS
for h in $(topo_hosts ovx); do
	f=$(cluster_host_file "$h" 10)
	# A small dataplane per host: many of them share this machine.
	sed -i "/^underlay:/i limits: {fdb_entries: $fdb}" "$f"
	# and whole applies (the timer's) rarely: the moves are what is timed.
	CLUSTER_INTERVAL=30 cluster_agent_spawn "$h" "$f" || e2e_fail "agent on $h"
	instances+=("$(ovx_instance "$h")")
done
for h in $(topo_hosts ovx); do
	cluster_agent_wait "$h" 3000 || e2e_fail "agent on $h: $(tail -3 "$(ovx_agent_log "$h")")"
done
echo "agents_started_sec=$((SECONDS - start))" >&2
"$CONVERGE" --netns "$TOPO_UNDERLAY_NS" --endpoints "$ETCD_ENDPOINTS" --segment blue-web \
	--moves "$moves" --burst "$burst" --instances "$(IFS=,; echo "${instances[*]}")" | tee "$TOPO_DIR/result.json"
echo "rss_kb_per_agent=$(for h in $(topo_hosts ovx); do ps -o rss= -p "$(ovx_agent_pid "$h")"; done | awk '{s+=$1} END {printf "%d", s/NR}')"
# CPU per apply: what every agent spent (user + system, since its start),
# over the applies it made (most of them the moves' deltas).
tck=$(getconf CLK_TCK)
for h in $(topo_hosts ovx); do
	pid=$(ovx_agent_pid "$h")
	echo "$(awk '{print $14 + $15}' "/proc/$pid/stat") $(/usr/bin/python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["applies"])' "/run/ovx/$(ovx_instance "$h")/cluster.json")"
done | awk -v t="$tck" '{c += $1; a += $2} END {printf "agent_cpu_ms_per_apply=%.2f (%d applies)\n", c * 1000 / t / a, a}'
e2e_pass
