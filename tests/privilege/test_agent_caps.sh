#!/usr/bin/env bash
# Least privilege, the agent: `ovx agent` run as an unprivileged user in
# the readers' group with exactly the capabilities scripts/systemd/ovx@.service
# gives it (AmbientCapabilities=, CapabilityBoundingSet=; setpriv as systemd
# would) applies its file in the host's namespace: hooks attached, maps
# filled, traffic flows across the overlay; its pins are its own and the
# group's to read; the process holds those capabilities and no others.
set -uo pipefail
here=$(dirname "${BASH_SOURCE[0]}")
source "$here/../e2e/lib.sh"
source "$here/lib.sh"
unit=$here/../../scripts/systemd/ovx@.service

e2e_init test_agent_caps "the agent as a dedicated user with only the unit's capabilities"
ambient=$(sed -n 's/^AmbientCapabilities=//p' "$unit")
bounding=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
[[ -n $ambient && $ambient == "$bounding" ]] ||
	e2e_fail "$unit: AmbientCapabilities='$ambient', CapabilityBoundingSet='$bounding' (want both, equal)"
grep -qx 'User=ovx' "$unit" && grep -qx 'Group=ovx' "$unit" || e2e_fail "$unit: no User=ovx and Group=ovx"
# CAP_NET_ADMIN CAP_BPF -> +net_admin,+bpf (setpriv's spelling).
caps=$(tr ' ' '\n' <<<"$ambient" | sed 's/^CAP_//' | tr 'A-Z' 'a-z' | sed 's/^/+/' | paste -sd,)
e2e_build_topology "ovx ovx" "blue:5001"
priv_setup
priv_user AGENT ovxa "$PRIV_GROUP"
NS=$(topo_host_ns h1)
PINS=$(ovx_pin_dir h1)
# The run directory as systemd makes it (RuntimeDirectory=, User=, Group=).
install -d -o "$AGENT" -g "$PRIV_GROUP" -m 0750 "$OVX_RUN_DIR"
# The agent's file, where its user can read it (the work directory is root's).
conf=$(mktemp -d "/tmp/${TOPO_PREFIX}-etc.XXXXXX")
cleanup_conf() { rm -rf -- "$conf"; }
topo_add_cleanup_hook cleanup_conf
cp "$(topo_config_file h1)" "$conf/h1.yaml"
chmod 755 "$conf" && chmod 644 "$conf/h1.yaml"

e2e_step "h2 by root; h1's agent as $AGENT with $caps"
ovx_apply h2 || e2e_fail "apply h2: $OVX_OUT"
_ovx_mark_applied h1
log=$(ovx_agent_log h1)
# As systemd starts the unit in the host's namespace: nsenter (root) puts it
# in h1's, then setpriv drops to the user with the unit's capabilities.
nsenter --net="/run/netns/$NS" setpriv --reuid="$AGENT" --regid="$PRIV_GROUP" --init-groups \
	--inh-caps=-all,"$caps" --ambient-caps=-all,"$caps" --bounding-set=-all,"$caps" -- \
	"$OVX" --instance "$NS" agent -f "$conf/h1.yaml" --interval 1 >>"$log" 2>&1 </dev/null &
TOPO_BG_PID[agent-h1]=$!
OVX_AGENTS+=(h1) # stopped before its user goes
TOPO_BG_OUT[agent-h1]=$log
TOPO_PIDS+=("$!")
ovx_agent_wait_ready h1 || e2e_fail "the agent did not apply as $AGENT:"$'\n'"$(cat "$log")"
e2e_ok "applied: $(grep -m1 '\] applied ' "$log")"

e2e_step "it holds the unit's capabilities, no others"
pid=${TOPO_BG_PID[agent-h1]}
want=$(setpriv --bounding-set=-all,"$caps" -- grep CapBnd /proc/self/status | awk '{print $2}')
eff=$(awk '/^CapEff/ {print $2}' "/proc/$pid/status")
[[ $eff == "$want" ]] || e2e_fail "the agent's CapEff $eff, want $want ($caps)"
[[ $(stat -c %U "/proc/$pid") == "$AGENT" ]] || e2e_fail "the agent runs as $(stat -c %U "/proc/$pid")"
e2e_ok "CapEff $eff ($ambient), uid $AGENT"

e2e_step "hooks attached, maps filled, pins the agent's and the group's"
status=$(ovx_run_stdout h1 status --json) || e2e_fail "status: $status"
/usr/bin/python3 - "$status" <<'PY' || e2e_fail "status --json: $status"
import json, sys
s = json.loads(sys.argv[1])
assert s["healthy"] is True, "not healthy"
assert s["agent"]["running"] is True and not s["agent"]["last_error"], s["agent"]
fill = {m["name"]: m["entries"] for m in s["maps"]}
assert fill["ovx_ports"] == 1 and fill["ovx_vni"] == 1 and fill["ovx_flood_vteps"] >= 1, fill
PY
[[ $(stat -c '%U %G %a' "$PINS/ovx_fdb") == "$AGENT $PRIV_GROUP 640" ]] ||
	e2e_fail "$PINS/ovx_fdb: $(stat -c '%U %G %a' "$PINS/ovx_fdb")"
e2e_ok "healthy; ovx_fdb $(stat -c '%U:%G %a' "$PINS/ovx_fdb")"

e2e_step "traffic across the overlay"
e2e_expect_ping b1 "$(topo_vm_ip b2)"
e2e_expect_ping b2 "$(topo_vm_ip b1)"
grep -q ' error\| warn' "$log" && e2e_fail "the agent logged a problem:"$'\n'"$(cat "$log")"
e2e_pass
