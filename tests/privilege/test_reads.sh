#!/usr/bin/env bash
# Least privilege, reading: a user in ovx's group (no capabilities, not
# root) reads a live instance with show, stats, status, export, fdb and
# segment show (--json), the same as root sees it, and serves the metrics; the instance's map pins,
# pin directory and run directory are the group's to read and nobody
# else's, program pins the owner's alone; a user outside the group is
# refused with exit 2 and a message naming the pin and the group; a group
# member's write is refused, naming the capabilities it lacks.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/../e2e/lib.sh"
source "$here/lib.sh"

e2e_init test_reads "group ovx reads show/stats/status/export; others refused"
e2e_build_topology "ovx ovx" "blue:5001"
priv_setup
priv_user READER ovxr "$PRIV_GROUP"
priv_user OUTSIDER ovxo
NS=$(topo_host_ns h1)
PINS=$(ovx_pin_dir h1)

e2e_step "apply as root, agent running, traffic"
ovx_apply_all
ovx_agent_start h1 "$(topo_config_file h1)" || e2e_fail "agent on h1 did not start"
e2e_expect_ping b1 "$(topo_vm_ip b2)"

e2e_step "modes: the group reads maps and directories, others nothing, programs the owner's"
for path in "$PINS" "$PINS/ovx_config" "$PINS/ovx_fdb" "$OVX_RUN_DIR" "$OVX_RUN_DIR/$NS" \
	"$OVX_RUN_DIR/$NS/agent.json" "$OVX_RUN_DIR/$NS/agent.lock"; do
	got=$(stat -c '%A %G' "$path")
	[[ $got == ?r?xr-x---\ $PRIV_GROUP || $got == ?rw?r-----\ $PRIV_GROUP ]] ||
		e2e_fail "$path: '$got', want group $PRIV_GROUP read (and search), no access for others"
done
for prog in "$PINS"/prog_*; do
	[[ $(stat -c '%a' "$prog") == 600 ]] || e2e_fail "$prog: mode $(stat -c '%a' "$prog"), want 600"
done
e2e_ok "pins, pin directory and run directory: group $PRIV_GROUP, no world access"

e2e_step "a group member reads every view"
for verb in "show --json" "stats --json" "status --json" "fdb show --json" "segment show --json" "export"; do
	# shellcheck disable=SC2086
	priv_as "$READER" h1 $verb
	((PRIV_RC == 0)) || e2e_fail "ovx $verb as $READER: exit $PRIV_RC: $PRIV_ERR"
done
priv_as "$READER" h1 export
reader_export=$PRIV_OUT
root_export=$(ovx_run_stdout h1 export) || e2e_fail "ovx export as root"
[[ $reader_export == "$root_export" ]] ||
	e2e_fail "export differs for $READER:"$'\n'"$(diff <(echo "$root_export") <(echo "$reader_export"))"
priv_as "$READER" h1 status --json
/usr/bin/python3 - "$PRIV_OUT" "$(topo_tenant_segment blue)" <<'PY' || e2e_fail "status --json as $READER: $PRIV_OUT"
import json, sys
s = json.loads(sys.argv[1])
assert s["healthy"] is True, "not healthy"
assert s["agent"]["running"] is True, "agent not seen"
assert {h["program"] for h in s["hooks"]} >= {"xdp_underlay", "tc_underlay", "tc_port"}, s["hooks"]
PY
priv_as "$READER" h1 stats --json
/usr/bin/python3 - "$PRIV_OUT" "$(topo_tenant_segment blue)" <<'PY' || e2e_fail "stats --json as $READER: $PRIV_OUT"
import json, sys
s = json.loads(sys.argv[1])
seg = [x for x in s["segments"] if x["name"] == sys.argv[2]]
assert seg and seg[0]["tx_packets"] > 0, seg
PY
e2e_ok "show, stats, status (healthy, agent seen), fdb/segment show, export identical to root's"

e2e_step "a group member serves the metrics"
# In h1's namespace: its loopback is its own, the port cannot clash.
nsenter --net="/run/netns/$NS" setpriv --reuid="$READER" --regid=nogroup --init-groups \
	--inh-caps=-all -- "$OVX" --instance "$NS" metrics serve --listen 127.0.0.1:9587 \
	>"$TOPO_DIR/metrics.out" 2>&1 </dev/null &
TOPO_BG_PID[metrics]=$!
TOPO_PIDS+=("$!")
scrape=$(ip netns exec "$NS" /usr/bin/python3 -c '
import time, urllib.request
for _ in range(50):
    try:
        print(urllib.request.urlopen("http://127.0.0.1:9587/metrics", timeout=5).read().decode())
        break
    except OSError:
        time.sleep(0.1)') || e2e_fail "scrape of $READER's exporter: $(cat "$TOPO_DIR/metrics.out")"
grep -qx 'ovx_up 1' <<<"$scrape" ||
	e2e_fail "$READER's exporter: no 'ovx_up 1': $(head -c 2000 <<<"$scrape") $(cat "$TOPO_DIR/metrics.out")"
grep -q "^ovx_segment_.*segment=\"$(topo_tenant_segment blue)\"" <<<"$scrape" ||
	e2e_fail "$READER's exporter has no series of segment $(topo_tenant_segment blue)"
topo_bg_stop metrics
e2e_ok "metrics serve as $READER: ovx_up 1, the segment's series"

e2e_step "a user outside the group is refused, naming the pin and the group"
for verb in show stats status export; do
	priv_as "$OUTSIDER" h1 $verb
	((PRIV_RC == 2)) || e2e_fail "ovx $verb as $OUTSIDER: exit $PRIV_RC, want 2: $PRIV_ERR"
	[[ $PRIV_ERR == *"$PINS"*"group $PRIV_GROUP"* ]] ||
		e2e_fail "ovx $verb as $OUTSIDER: message names no pin and group: $PRIV_ERR"
done
e2e_ok "$PRIV_ERR"

e2e_step "a group member may not write"
priv_as "$READER" h1 fdb add 02:00:00:00:09:09 --segment "$(topo_tenant_segment blue)" --vtep "$(topo_host_addr h2)"
((PRIV_RC == 2)) && [[ $PRIV_ERR == *CAP_BPF*CAP_NET_ADMIN* ]] ||
	e2e_fail "fdb add as $READER: exit $PRIV_RC: $PRIV_ERR"
e2e_ok "$PRIV_ERR"
e2e_pass
