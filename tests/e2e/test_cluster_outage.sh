#!/usr/bin/env bash
# All of etcd down (ETCD_OUTAGE_S, default 60 s): every host forwards on its
# last state (pings across hosts lose nothing, no map changes), `ovx cluster
# status` says etcd is unreachable (exit 2, "etcd_reachable": false, the
# agent's watch disconnected); once etcd is back, changes made afterwards (a
# new port, a segment removed) reach every host. Then one host is cut off
# from etcd while the cluster changes and its history is compacted: its
# resumed watch finds its start compacted and reads everything again, and
# that resync adds what changed without removing (or rewriting) anything.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

OUTAGE=${ETCD_OUTAGE_S:-60}
e2e_init test_cluster_outage "cluster mode: all of etcd down ${OUTAGE} s, compacted history"
cluster_up "ovx ovx ovx" "blue:5001 red:5002 green:5003@h1,h2" 3
A1=$(topo_host_addr h1) A2=$(topo_host_addr h2) A3=$(topo_host_addr h3)
BLUE=$(topo_tenant_segment blue) RED=$(topo_tenant_segment red) GREEN=$(topo_tenant_segment green)

e2e_step "three agents (lease TTL 10 s); h3's red VM not plugged in yet"
for h in h1 h2; do
	cluster_agent_start "$h" "$(cluster_host_file "$h" 10)" || e2e_fail "agent on $h"
done
cluster_agent_start h3 "$(cluster_host_file h3 10 b3)" || e2e_fail "agent on h3"
cluster_wait "h1's red floods to h2" cluster_flood_is h1 "$RED" "$A2"
cluster_wait "h1's blue floods to h2 and h3" cluster_flood_is h1 "$BLUE" "$A2 $A3"
e2e_expect_ping b1 "$(topo_vm_ip b3)" 3
e2e_expect_ping g1 "$(topo_vm_ip g2)" 3
e2e_ok "blue on 3 hosts, red on h1 and h2, green on h1 and h2"

# status_json HOST: `ovx cluster status --json` of HOST into $ST, its exit
# status into $STATUS_RC.
status_json() {
	ST=$("$OVX" --netns "$(topo_host_ns "$1")" cluster status --json 2>"$TOPO_DIR/status.err")
	STATUS_RC=$?
}
# agent_field HOST FIELD: a top-level field of HOST's agent report.
agent_field() {
	/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
		"/run/ovx/$(ovx_instance "$1")/cluster.json" "$2"
}
lost() {
	/usr/bin/python3 -c '
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r"(\d+) packets transmitted, (\d+) received", t)
print(int(m.group(1)) - int(m.group(2)) if m else "no summary")' "$(topo_bg_out "$1")"
}

e2e_step "all of etcd down for ${OUTAGE} s: forwarding goes on"
declare -A before
for h in h1 h2 h3; do before[$h]=$(cluster_maps "$h"); done
n=$(((OUTAGE + 8) * 10))
topo_bg ping_b "$(topo_vm_ns b1)" ping -n -c "$n" -i 0.1 -W 1 "$(topo_vm_ip b2)"
topo_bg ping_r "$(topo_vm_ns r2)" ping -n -c "$n" -i 0.1 -W 1 "$(topo_vm_ip r1)"
topo_bg ping_b3 "$(topo_vm_ns b3)" ping -n -c "$n" -i 0.1 -W 1 "$(topo_vm_ip b1)"
sleep 2
log_before=$(wc -l <"$(ovx_agent_log h1)")
down_at=$SECONDS
for m in m1 m2 m3; do etcd_stop "$m"; done
sleep 3
status_json h1
st=$ST
((STATUS_RC == 2)) || e2e_fail "cluster status during the outage: exit $STATUS_RC, want 2: $st"
/usr/bin/python3 - "$st" <<'PY' || e2e_fail "cluster status during the outage: $st"
import json, sys
s = json.loads(sys.argv[1])
assert s["etcd_reachable"] is False and s["healthy"] is False, s
assert not any(e["healthy"] for e in s["etcd"]) and len(s["etcd"]) == 3, s["etcd"]
assert all(e["error"] for e in s["etcd"]), s["etcd"]
assert s["agent_running"] and s["agent"]["etcd_connected"] is False, s["agent"]
assert any("etcd" in p for p in s["problems"]), s["problems"]
PY
"$OVX" --netns "$(topo_host_ns h2)" cluster status >"$TOPO_DIR/status.txt" 2>&1
rc=$?
sed 's/^/    /' "$TOPO_DIR/status.txt"
((rc == 2)) && grep -q "UNREACHABLE" "$TOPO_DIR/status.txt" ||
	e2e_fail "cluster status (text) during the outage: exit $rc, no UNREACHABLE"
e2e_ok "cluster status: exit 2, every member unreachable, the agent's watch disconnected"
sleep $((OUTAGE - (SECONDS - down_at)))
for h in h1 h2 h3; do
	kill -0 "$(ovx_agent_pid "$h")" 2>/dev/null || e2e_fail "the agent of $h exited during the outage"
	[[ $(cluster_maps "$h") == "${before[$h]}" ]] || e2e_fail "$h's maps changed during the outage"
done
# An outage is said once, not ten times a second for as long as it lasts.
lines=$(($(wc -l <"$(ovx_agent_log h1)") - log_before))
e2e_info "h1's agent logged $lines lines in $((SECONDS - down_at)) s without etcd:"
tail -n "$lines" "$(ovx_agent_log h1)" | head -12 | cut -c1-200 | sed 's/^/      /'
((lines <= 20)) || e2e_fail "h1's agent logged $lines lines during the outage"
e2e_ok "$((SECONDS - down_at)) s without etcd: agents running, no host's maps changed"

e2e_step "etcd back: agents reconnect, keep their leases; changes made afterwards reach every host"
for m in m1 m2 m3; do etcd_start_member "$m" "$CLUSTER_ETCD_ADDR" existing; done
for m in m1 m2 m3; do etcd_wait_healthy "$m" || e2e_fail "etcd $m did not come back"; done
back_at=$SECONDS
healthy() {
	status_json "$1"
	((STATUS_RC == 0)) && /usr/bin/python3 -c '
import json, sys
s = json.loads(sys.argv[1])
sys.exit(0 if s["healthy"] and s["agent"]["etcd_connected"] and s["lag_revisions"] == 0 else 1)' "$ST"
}
for h in h1 h2 h3; do cluster_wait "$h healthy again" healthy "$h"; done
e2e_ok "every agent healthy $((SECONDS - back_at)) s after etcd came back"
cluster_host_file h3 10 >/dev/null # r3 plugged in
cluster_ovx segment del "$GREEN" >/dev/null || e2e_fail "segment del $GREEN"
cluster_wait "h1's red floods to h2 and h3" cluster_flood_is h1 "$RED" "$A2 $A3"
cluster_wait "h2's red floods to h1 and h3" cluster_flood_is h2 "$RED" "$A1 $A3"
no_green() { ! cluster_maps "$1" | grep -q "\"$GREEN\""; }
cluster_wait "h1 drops $GREEN" no_green h1
cluster_wait "h2 drops $GREEN" no_green h2
e2e_expect_ping r1 "$(topo_vm_ip r3)" 3
e2e_ok "r3 reachable from h1, $GREEN gone from h1 and h2"
for b in ping_b ping_r ping_b3; do
	wait "$(topo_bg_pid "$b")"
	l=$(lost "$b")
	[[ $l == 0 ]] || e2e_fail "$b lost $l of $n pings across the outage: $(tail -3 "$(topo_bg_out "$b")")"
done
e2e_ok "3 x $n pings across the outage (b1->b2, r2->r1, b3->b1): none lost"

e2e_step "h2 cut off from etcd while the cluster changes and etcd compacts its history"
NS2=$(topo_host_ns h2)
resyncs=$(agent_field h2 resyncs)
h2_before=$(cluster_maps h2)
ip netns exec "$NS2" nft -f - <<EOF || e2e_fail "nft in h2"
table inet ovxcut {
	chain out {
		type filter hook output priority 0;
		ip daddr $CLUSTER_ETCD_ADDR tcp dport 2379-2390 reject with tcp reset
	}
}
EOF
h2_cut() { [[ $(agent_field h2 etcd_connected) == False ]]; }
cluster_wait "h2 notices" h2_cut
cluster_ovx segment add "$GREEN" --tenant green --vni "$(topo_tenant_vni green)" >/dev/null ||
	e2e_fail "segment add $GREEN"
g1_bound() {
	cluster_ovx fdb show --segment "$GREEN" --json | grep -q "$(topo_vm_mac g1)"
}
cluster_wait "h1's g1 in $GREEN again" g1_bound
# One more revision (another application's key) puts the compaction past
# the revision h2 resumes its watch at.
etcdctl_run put /not-ovx/bump 1 >/dev/null || e2e_fail "etcdctl put"
rev=$(etcdctl_run endpoint status -w json |
	/usr/bin/python3 -c 'import json,sys; print(max(e["Status"]["header"]["revision"] for e in json.load(sys.stdin)))')
h2_rev=$(agent_field h2 revision)
((rev >= h2_rev + 2)) || e2e_fail "etcd at $rev, h2 at $h2_rev: nothing to compact past h2"
etcdctl_run compact "$rev" --physical >/dev/null ||
	e2e_fail "etcdctl compact $rev"
e2e_info "h2 applied revision $h2_rev; etcd compacted up to $rev"
mark=$(wc -l <"$(ovx_agent_log h2)")
ip netns exec "$NS2" nft delete table inet ovxcut
resynced() { (($(agent_field h2 resyncs) > resyncs)); }
cluster_wait "h2 reads everything again" resynced
cluster_wait "h2 gets $GREEN back, flooding to h1" cluster_flood_is h2 "$GREEN" "$A1"
since=$(tail -n +"$((mark + 1))" "$(ovx_agent_log h2)")
grep -q "compacted" <<<"$since" || e2e_fail "h2's log says nothing of the compaction: $since"
applied=$(grep -E "[0-9]+ added, [0-9]+ changed, [0-9]+ removed" <<<"$since")
e2e_info "h2 after the resync: ${applied:-nothing applied}"
grep -qE " [1-9][0-9]* removed" <<<"$applied" && e2e_fail "h2's resync removed entries: $applied"
/usr/bin/python3 - "$h2_before" "$(cluster_maps h2)" "$GREEN" <<'PY' || e2e_fail "h2's resync touched other segments"
import json, sys
before = {s["name"]: s for s in json.loads(sys.argv[1])}
after = {s["name"]: s for s in json.loads(sys.argv[2])}
assert set(after) == set(before) | {sys.argv[3]}, (sorted(before), sorted(after))
for name, s in before.items():
    assert after[name] == s, (name, s, after[name])
PY
e2e_expect_ping g2 "$(topo_vm_ip g1)" 3
e2e_ok "h2 resynced after the compaction: $GREEN added, nothing removed, other segments untouched"

e2e_pass
