#!/usr/bin/env bash
# Cluster scale: NODES simulated hosts x VMS VMs written straight to etcd
# (bench/cluster_scale.cpp), over SEGMENTS segments; one real host (a
# namespace, a VM in the first segment, a cluster agent) joins afterwards.
# Measures: the time to publish and etcd's database size; the agent's time
# to sync (start to every binding of its segment in its FDB) and its
# memory; then MOVES VMs moved at once and the time until the agent's FDB
# follows every one of them in its segment.
#   bash bench/cluster_scale.sh [NODES] [VMS] [SEGMENTS] [MOVES]   (default 1000 100 10 1000)
# Prints one JSON object per step, then a summary line.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
OVX=${OVX:-$root/build/ovx}
SCALE=${SCALE:-$root/build/bench/ovx_cluster_scale}
nodes=${1:-1000} vms=${2:-100} nseg=${3:-10} moves=${4:-1000}
export TOPO_QUIET=1
source "$root/tests/e2e/lib.sh"
source "$root/tests/e2e/cluster_lib.sh"
e2e_init cluster_scale "$nodes hosts x $vms VMs over $nseg segments, $moves moved at once"
e2e_build_topology "ovx" "blue:5001" >/dev/null
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 1 || e2e_fail "etcd"
segments=$(topo_tenant_segment blue)
for ((i = 2; i <= nseg; i++)); do segments+=",scale-$i"; done
cluster_write_segments "$TOPO_DIR/cluster.yaml"
for ((i = 2; i <= nseg; i++)); do
	printf '  - {name: scale-%d, tenant: scale, encap: vxlan, id: %d}\n' "$i" $((6000 + i))
done >>"$TOPO_DIR/cluster.yaml"
cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" >/dev/null || e2e_fail "cluster apply"
tool() { "$SCALE" --netns "$TOPO_UNDERLAY_NS" --endpoints "$ETCD_ENDPOINTS" --nodes "$nodes" \
	--vms "$vms" --segments "$segments" "$@"; }

tool publish | tee "$TOPO_DIR/publish.json" || e2e_fail "publish"
h=$(topo_hosts ovx)
f=$(cluster_host_file "$h" 30)
tool sync --instance "$(ovx_instance "$h")" >"$TOPO_DIR/sync.json" &
sync_pid=$!
TOPO_PIDS+=("$sync_pid")
cluster_agent_start "$h" "$f" >/dev/null # may return before it synced; the tool waits
wait $sync_pid || e2e_fail "sync: $(cat "$TOPO_DIR/sync.json")"
cat "$TOPO_DIR/sync.json"
rss_sync=$(ps -o rss= -p "$(ovx_agent_pid "$h")" | tr -d ' ')
tool move --instance "$(ovx_instance "$h")" --count "$moves" | tee "$TOPO_DIR/move.json" ||
	e2e_fail "move"
rss_move=$(ps -o rss= -p "$(ovx_agent_pid "$h")" | tr -d ' ')
echo "{\"step\": \"agent\", \"rss_kb_after_sync\": $rss_sync, \"rss_kb_after_moves\": $rss_move}"
e2e_pass
