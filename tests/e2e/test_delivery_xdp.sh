#!/usr/bin/env bash
# Delivery by XDP_REDIRECT (ovx_port_devmap) in native mode: a VM port whose
# VM-side veth has GRO on takes decapsulated frames by XDP_REDIRECT, one
# without by TC; `show` says which, the counters are exact either way, and
# every apply decides again (GRO switched off in the VM later; a port the
# file gives `delivery: tc`). The underlay here is a veth, where `auto`
# keeps TC (local senders' checksums: docs/OPERATIONS.md): the ports say
# `delivery: xdp`.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

export TOPO_XDP_MODE=native TOPO_GRO=1
counters_topology test_delivery_xdp "XDP_REDIRECT to ports that take it, TC to the rest"
PINGS=5
FRAME=98
P1=$(topo_vm_port b1)
P2=$(topo_vm_port b2)
CHECK=(/usr/bin/python3 "$E2E_LIB_DIR/json_check.py")

# delivery HOST PORT: what `ovx show --json` says of PORT's delivery.
delivery() {
	ovx_show_json "$1" | /usr/bin/python3 -c '
import json, sys
port = sys.argv[1]
print(next(p["delivery"] for p in json.load(sys.stdin)["ports"] if p["interface"] == port))' "$2"
}

expect_delivery() {
	local got
	got=$(delivery "$1" "$2") || e2e_fail "$1: no delivery for $2 in ovx show --json"
	[[ $got == "$3" ]] || e2e_fail "$1: $2 delivered by '$got', want '$3'"
	ovx_run "$1" show || e2e_fail "ovx show on $1: exit $OVX_RC: $OVX_OUT"
	grep -E "^port $2 .* delivery $3\$" <<<"$OVX_OUT" >/dev/null ||
		e2e_fail "ovx show on $1: no line 'port $2 ... delivery $3': $OVX_OUT"
	e2e_ok "$1: $2 by $3 (show and show --json)"
}

# rx_drops HOST: frames HOST's underlay (eth1, a veth) dropped on receive,
# a refused XDP_REDIRECT among them (ethtool -S, summed over queues).
rx_drops() {
	topo_host_exec "$1" ethtool -S eth1 |
		awk '/rx_queue_[0-9]+_drops:/ {n += $2} END {print n + 0}'
}

e2e_step "delivery: auto on a veth underlay: TC"
expect_delivery h1 "$P1" tc
expect_delivery h2 "$P2" tc

e2e_step "delivery: xdp, GRO on in every VM: every port by XDP_REDIRECT"
for h in h1 h2; do
	sed -i "/^        mac: /a\        delivery: xdp" "$(topo_config_file "$h")"
	ovx_apply "$h" || e2e_fail "ovx apply on $h: exit $OVX_RC: $OVX_OUT"
done
ovx_show_json h2 | "${CHECK[@]}" schema ovx-show.v1.schema.json ||
	e2e_fail "ovx show --json on h2: against the schema"
expect_delivery h1 "$P1" xdp-redirect
expect_delivery h2 "$P2" xdp-redirect
pings_exact "$BLUE" "$PINGS" "$FRAME" redirect

e2e_step "GRO off in b2 without an apply: the kernel refuses, and says so"
topo_vm_exec b2 ethtool -K eth0 gro off >/dev/null || e2e_fail "cannot turn GRO off in b2"
err0=$(rx_drops h2)
got=$(topo_ping_received b1 "$(topo_vm_ip b2)" 3)
err1=$(rx_drops h2)
((got == 0)) || e2e_fail "b1 -> b2: $got/3 replies through a port that takes no XDP frame"
((err1 - err0 == 3)) || e2e_fail "h2: eth1's rx drops moved by $((err1 - err0)), want 3"
e2e_ok "h2: 3 refused redirects in ethtool -S eth1 (rx_queue_*_drops)"

e2e_step "the next apply moves $P2 to TC"
ovx_apply h2 || e2e_fail "ovx apply on h2: exit $OVX_RC: $OVX_OUT"
expect_delivery h2 "$P2" tc
expect_delivery h1 "$P1" xdp-redirect
pings_exact "$BLUE" "$PINGS" "$FRAME" tc

e2e_step "GRO on again, but the file says delivery: tc"
topo_vm_exec b2 ethtool -K eth0 gro on >/dev/null || e2e_fail "cannot turn GRO on in b2"
CONF=$(topo_config_file h2)
sed -i "s/^        delivery: xdp\$/        delivery: tc/" "$CONF"
grep -q "delivery: tc" "$CONF" || e2e_fail "cannot edit $CONF"
ovx_apply h2 || e2e_fail "ovx apply on h2: exit $OVX_RC: $OVX_OUT"
expect_delivery h2 "$P2" tc
pings_exact "$BLUE" "$PINGS" "$FRAME" forced
sed -i "s/^        delivery: tc\$/        delivery: xdp/" "$CONF"
ovx_apply h2 || e2e_fail "ovx apply on h2: exit $OVX_RC: $OVX_OUT"
expect_delivery h2 "$P2" xdp-redirect
pings_exact "$BLUE" "$PINGS" "$FRAME" again

e2e_step "an imperative edit keeps each port's delivery (the maps remember what the file asked)"
ovx_run h2 fdb add 02:00:00:00:99:01 --segment "$BLUE" --vtep "$(topo_host_addr h1)" ||
	e2e_fail "fdb add on h2: exit $OVX_RC: $OVX_OUT"
expect_delivery h2 "$P2" xdp-redirect
ovx_run h2 export || e2e_fail "ovx export on h2: exit $OVX_RC: $OVX_OUT"
grep -q "delivery: xdp" <<<"$OVX_OUT" || e2e_fail "ovx export on h2 lost delivery: xdp: $OVX_OUT"
ovx_run h2 fdb del 02:00:00:00:99:01 --segment "$BLUE" || e2e_fail "fdb del on h2: $OVX_OUT"
expect_delivery h2 "$P2" xdp-redirect
e2e_ok "h2: $P2 still by xdp-redirect after fdb add and del; export says delivery: xdp"

e2e_step "a bad delivery value: refused with its place in the file"
BAD="$TOPO_DIR/bad.yaml"
sed "s/^        delivery: xdp\$/        delivery: fast/" "$CONF" >"$BAD"
line=$(grep -n "delivery: fast" "$BAD" | cut -d: -f1)
ovx_apply h2 "$BAD" && e2e_fail "ovx apply took delivery: fast"
((OVX_RC == 1)) || e2e_fail "delivery: fast: exit $OVX_RC, want 1: $OVX_OUT"
grep -F "$BAD:$line:19: " <<<"$OVX_OUT" | grep -q "unknown delivery" ||
	e2e_fail "delivery: fast: no FILE:LINE:COLUMN error: $OVX_OUT"
e2e_ok "refused: $OVX_OUT"
expect_delivery h2 "$P2" xdp-redirect

# wait_delivery HOST PORT WANT: up to 5 s for PORT's delivery to become WANT.
wait_delivery() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ $(delivery "$1" "$2") == "$3" ]] && return 0
		sleep 0.1
	done
	return 1
}

e2e_step "under an agent, GRO off in a VM moves its port to TC at once (xdp_features events), not at the next pass"
ovx_agent_start h2 "$CONF" --interval 600 || e2e_fail "agent on h2 did not apply: $(cat "$(ovx_agent_log h2)")"
expect_delivery h2 "$P2" xdp-redirect
topo_vm_exec b2 ethtool -K eth0 gro off >/dev/null || e2e_fail "cannot turn GRO off in b2"
wait_delivery h2 "$P2" tc ||
	e2e_fail "h2: $P2 still by $(delivery h2 "$P2") 5 s after GRO went off: $(tail -5 "$(ovx_agent_log h2)")"
ovx_agent_wait_log h2 "xdp_features changed" 5 || e2e_fail "agent on h2 did not say why it decided again"
pings_exact "$BLUE" "$PINGS" "$FRAME" agent-tc
topo_vm_exec b2 ethtool -K eth0 gro on >/dev/null || e2e_fail "cannot turn GRO on in b2"
wait_delivery h2 "$P2" xdp-redirect || e2e_fail "h2: $P2 not back to xdp-redirect 5 s after GRO came on"
pings_exact "$BLUE" "$PINGS" "$FRAME" agent-xdp
ovx_agent_stop h2
e2e_ok "h2's agent moved $P2 to tc and back within 5 s of each GRO change (interval 600 s)"

e2e_pass
