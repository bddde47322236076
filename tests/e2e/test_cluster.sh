#!/usr/bin/env bash
# Cluster mode on a 3-member etcd: segments defined once (ovx cluster
# apply), three hosts' agents publish their VTEPs and ports and keep their
# maps equal to the cluster. VMs talk with no static remote or flood list
# in any host's file; a host with no member of a segment gets none of its
# BUM traffic; tenants stay apart; a host that dies leaves the flood lists
# within its lease TTL; a restarted agent takes its lease over and changes
# nothing; the etcd leader's loss costs no packet.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

e2e_init test_cluster "cluster mode: 3 hosts, 3-member etcd, no static remotes"
e2e_build_topology "ovx ovx ovx" "blue:5001@h1,h2 red:5002"
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 3 || e2e_fail "etcd did not start"
e2e_ok "3 etcd members at $ETCD_ENDPOINTS"

e2e_step "ovx cluster apply: segments once for the cluster"
cluster_write_segments "$TOPO_DIR/cluster.yaml"
out=$(cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" 2>&1) || e2e_fail "cluster apply: $out"
e2e_info "$out"
printf 'segments:\n  - {name: x, tenant: t, id: 99999999}\n' >"$TOPO_DIR/bad.yaml"
cluster_ovx apply -f "$TOPO_DIR/bad.yaml" >/dev/null 2>&1
(($? == 1)) || e2e_fail "a bad cluster file was not refused with exit 1"
n=$(cluster_ovx segment show --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["segments"]))')
((n == 2)) || e2e_fail "the cluster holds $n segments after a refused file, want 2"
e2e_ok "2 segments; a bad file is refused (exit 1) and writes nothing"

e2e_step "one agent per host, from files with no remotes and no flood lists"
for h in h1 h2 h3; do
	f=$(cluster_host_file "$h" 3)
	! grep -q "flood\|remotes\|vtep:" "$f" || e2e_fail "$f names remote VTEPs"
	cluster_agent_start "$h" "$f" || e2e_fail "agent on $h: $(tail -5 "$(ovx_agent_log "$h")")"
done
A1=$(topo_host_addr h1) A2=$(topo_host_addr h2) A3=$(topo_host_addr h3)
cluster_wait "h1's blue floods to h2 only" cluster_flood_is h1 blue-web "$A2"
cluster_wait "h1's red floods to h2 and h3" cluster_flood_is h1 red-web "$A2 $A3"
[[ -z $(cluster_flood h3 blue-web) ]] || e2e_fail "h3 has blue, where it has no port"
e2e_ok "flood lists: blue h1->[h2], red h1->[h2 h3]; h3 has no blue segment"

e2e_step "traffic within each tenant, nothing across"
e2e_expect_ping b1 "$(topo_vm_ip b2)" 5
e2e_expect_ping r1 "$(topo_vm_ip r3)" 5
e2e_expect_ping r3 "$(topo_vm_ip r2)" 5
e2e_expect_no_ping b1 "$(topo_vm_ip r3)" 3
# Blue's broadcasts (ARP for nobody) must not reach h3, which has no blue
# port: were they sent there, h3 would drop them as an unknown id.
unknown_vni() {
	"$OVX" --netns "$(topo_host_ns h3)" stats --json | /usr/bin/python3 -c '
import json, sys
print(json.load(sys.stdin)["unassigned_drops"].get("unknown_vni", 0))'
}
before=$(unknown_vni)
topo_vm_exec b1 ping -c 3 -i 0.2 -W 1 10.0.0.77 >/dev/null 2>&1
after=$(unknown_vni)
((after == before)) || e2e_fail "blue's broadcasts reached h3 ($((after - before)) dropped as unknown id)"
e2e_ok "pings answered within blue and red; blue -> red none; no blue broadcast reached h3"

e2e_step "the cluster's view: nodes and FDB"
cluster_ovx nodes --json >"$TOPO_DIR/nodes.json" || e2e_fail "cluster nodes"
n=$(/usr/bin/python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["nodes"]))' "$TOPO_DIR/nodes.json")
((n == 3)) || e2e_fail "cluster nodes: $n, want 3: $(cat "$TOPO_DIR/nodes.json")"
macs=$(cluster_ovx fdb show --segment red-web --json | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["fdb"]))')
((macs == 3)) || e2e_fail "cluster fdb show red-web: $macs MACs, want 3"
st=$("$OVX" --netns "$(topo_host_ns h1)" cluster status --json) || e2e_fail "cluster status: $st"
/usr/bin/python3 - "$st" <<'PY' || e2e_fail "cluster status: $st"
import json, sys
s = json.loads(sys.argv[1])
assert s["node"] == "h1" and s["agent_running"], s
assert sum(e["healthy"] for e in s["etcd"]) == 3, s["etcd"]
assert sum(e["leader"] for e in s["etcd"]) == 1, s["etcd"]
assert s["lease_ttl_left"] > 0 and s["lag_revisions"] <= 2, s
assert len(s["agent"]["nodes"]) == 3, s["agent"]["nodes"]
PY
"$OVX" --netns "$(topo_host_ns h1)" cluster status | sed 's/^/    /'
cluster_scrape h1 9587 "$TOPO_DIR/metrics.txt" || e2e_fail "no metrics from h1"
for m in ovx_cluster_watch_events_total ovx_cluster_sync_lag_revisions ovx_cluster_apply_seconds_bucket \
	ovx_cluster_etcd_errors_total ovx_cluster_etcd_failovers_total ovx_cluster_nodes; do
	grep -q "^$m" "$TOPO_DIR/metrics.txt" || e2e_fail "metric $m missing: $(grep ovx_cluster "$TOPO_DIR/metrics.txt")"
done
promtool check metrics <"$TOPO_DIR/metrics.txt" || e2e_fail "promtool rejects the exposition"
e2e_ok "3 nodes, 3 MACs in red; cluster status: 3 healthy members, one leader, lease alive, no lag"

e2e_step "an agent restarted (kill -9) takes its lease over; forwarding never stops"
lease_before=$(/usr/bin/python3 -c 'import json; print(json.load(open("/run/ovx/'"$(ovx_instance h2)"'/cluster.json"))["lease"])')
topo_bg ping_b "$(topo_vm_ns b1)" ping -c 40 -i 0.05 -W 1 "$(topo_vm_ip b2)"
ovx_agent_stop h2 KILL
cluster_agent_start h2 "$TOPO_DIR/cluster-h2.yaml" || e2e_fail "agent restart on h2"
lease_after=$(/usr/bin/python3 -c 'import json; print(json.load(open("/run/ovx/'"$(ovx_instance h2)"'/cluster.json"))["lease"])')
[[ $lease_before == "$lease_after" ]] || e2e_fail "h2 took a new lease ($lease_before -> $lease_after)"
since_restart=$(tac "$(ovx_agent_log h2)" | sed '/cluster agent starting/q')
grep -qE "[1-9][0-9]* (added|changed|removed)|dataplane loaded" <<<"$since_restart" &&
	e2e_fail "the restarted agent rewrote entries: $since_restart"
wait "$(topo_bg_pid ping_b)"
got=$(grep -o '[0-9]* received' "$(topo_bg_out ping_b)" | cut -d' ' -f1)
((got == 40)) || e2e_fail "pings during the restart: $got/40"
e2e_ok "same lease $lease_after, no entry rewritten, 40/40 pings"

e2e_step "the etcd leader dies: agents fail over, no packet lost"
leader=$(etcd_leader) || e2e_fail "no etcd leader"
topo_bg ping_r "$(topo_vm_ns r1)" ping -c 60 -i 0.05 -W 1 "$(topo_vm_ip r3)"
etcd_stop "$leader"
e2e_info "killed leader $leader"
# A change after the failover reaches every host: h3's red port goes.
cluster_host_file h3 3 >/dev/null # unchanged file, rewritten: re-published
wait "$(topo_bg_pid ping_r)"
got=$(grep -o '[0-9]* received' "$(topo_bg_out ping_r)" | cut -d' ' -f1)
((got == 60)) || e2e_fail "pings while the leader died: $got/60"
cluster_ovx segment show --json >/dev/null || e2e_fail "cluster unreachable after the leader died"
e2e_ok "60/60 pings; the cluster answers on the other members"

e2e_step "a host dies: the others drop it within the lease TTL (3 s)"
ovx_agent_stop h3 KILL
start=$SECONDS
cluster_wait "h1's red flood list drops h3" cluster_flood_is h1 red-web "$A2"
cluster_wait "h2's red flood list drops h3" cluster_flood_is h2 red-web "$A1"
e2e_ok "h3 left the flood lists after $((SECONDS - start)) s"

e2e_pass
