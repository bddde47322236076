#!/usr/bin/env bash
# Migration of an instance pinned by an older ovx (map ABI v5, git 8f0966c,
# the previous version; MIGRATE_FROM=4 to 1: ABI v4 to v1) to this
# ovx's ABI, under 1 ms ping + paced iperf3:
# the new binary refuses the old pins with a message that says what to do,
# `ovx upgrade --migrate` carries FDB (static and learned), ports, segments
# and counters over and swaps the programs, and no ping is lost.
#   OVX_OLD: an ovx binary of that ABI to use; default: old_ovx.sh builds it
#   from its commit into <build>/ovx-abi<N> (kept for the next run).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FROM=${MIGRATE_FROM:-5} # old_ovx.sh names the commit of each ABI
RATE=${HITLESS_RATE:-200M}

NEW=$OVX
NEW_ABI=$("$NEW" --version | sed -n 's/.*ABI v\([0-9]*\).*/\1/p')
e2e_init test_upgrade_migrate "ABI v$FROM pins -> v$NEW_ABI with ovx upgrade --migrate under traffic"

e2e_step "the ABI v$FROM binary"
if [[ -n ${OVX_OLD:-} ]]; then
	OLD=$OVX_OLD
else
	OLD=$(bash "$(dirname "${BASH_SOURCE[0]}")/old_ovx.sh" "$FROM" "$(dirname "$NEW")") ||
		e2e_fail "cannot build the ABI v$FROM ovx (see above)"
fi
"$OLD" --version | grep "ABI v$FROM" >/dev/null || e2e_fail "$OLD is not ABI v$FROM: $("$OLD" --version)"
e2e_ok "$OLD: $("$OLD" --version)"

if ((FROM < 3)); then export TOPO_XDP_MODE=${TOPO_XDP_MODE:-tc}; else export TOPO_XDP_MODE=${TOPO_XDP_MODE:-native}; fi
e2e_build_topology "ovx ovx ovx" "blue:5001"
BLUE=$(topo_tenant_segment blue)
# One static remote besides the port; b2 and b3 are learned from traffic.
printf '    remotes:\n      - mac: 02:00:00:00:0a:0a\n        vtep: %s\n' "$(topo_host_addr h2)" \
	>>"$(topo_config_file h1)"
OVX=$OLD
e2e_apply_all
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
e2e_expect_ping b3 "$(topo_vm_ip b1)" 3 # h1 learns nothing static about b3: learned entries
fdb_set() { # HOST: segment mac kind vtep/port learned, one line per FDB entry, sorted
	ovx_run_stdout "$1" show --json | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["fdb"]:
    print(e["segment"], e["mac"], e["kind"], e.get("vtep", e.get("port")),
          "learned" if e["learned"] else "static")' | sort
}
before=$(fdb_set h1)
grep ' learned$' <<<"$before" >/dev/null || e2e_fail "h1's old FDB has no learned entries: $before"
grep ' vtep .* static$' <<<"$before" >/dev/null || e2e_fail "h1's old FDB has no static remote: $before"
ovx_run h1 stats --json || e2e_fail "old stats: $OVX_OUT"
rx_before=$(ovx_json_seg_field rx_packets "$BLUE" <<<"$OVX_OUT")
e2e_ok "h1 (v$FROM): $(wc -l <<<"$before") FDB entries, rx_packets $rx_before"
port_counts() { # HOST: "rx_packets tx_packets" of its ports together
	ovx_run "$1" stats --json || e2e_fail "stats on $1: $OVX_OUT"
	/usr/bin/python3 -c '
import json, sys
ports = json.load(sys.stdin)["ports"]
print(sum(p["rx_packets"] for p in ports), sum(p["tx_packets"] for p in ports))' <<<"$OVX_OUT"
}
# h3's port (b3) stays quiet while the others migrate under traffic: what it
# counted before must still be there after (v5 keeps port counters by index).
read -r b3_rx_before b3_tx_before < <(port_counts h3)
((b3_rx_before > 0 && b3_tx_before > 0)) || e2e_fail "h3's port counted nothing before: $b3_rx_before $b3_tx_before"
OVX=$NEW

e2e_step "this ovx refuses the v$FROM pins and says what to do"
ovx_run h1 show
((OVX_RC == 2)) || e2e_fail "show on v$FROM pins: exit $OVX_RC, want 2: $OVX_OUT"
[[ $OVX_OUT == *"ABI v$FROM"*"upgrade --migrate"* ]] || e2e_fail "message does not point at upgrade --migrate: $OVX_OUT"
e2e_ok "$OVX_OUT"
ovx_run h1 upgrade
((OVX_RC == 1)) || e2e_fail "upgrade without --migrate: exit $OVX_RC, want 1: $OVX_OUT"
e2e_ok "$OVX_OUT"

e2e_step "traffic: ping -i 0.001 b1 -> b2 and iperf3 -b $RATE b2 -> b1; upgrade --migrate on h1, h2, h3"
count=4000
topo_iperf_server b1 || e2e_fail "iperf3 server on b1 did not start"
topo_bg ping-b1 "$(topo_vm_ns b1)" ping -n -q -i 0.001 -c "$count" -W 1 "$(topo_vm_ip b2)"
topo_bg iperf-b2 "$(topo_vm_ns b2)" iperf3 -c "$(topo_vm_ip b1)" -t 5 -b "$RATE" -i 0.1 -J --connect-timeout 3000
sleep 1
for h in h1 h2 h3; do
	ovx_run "$h" upgrade --migrate || e2e_fail "upgrade --migrate on $h: exit $OVX_RC: $OVX_OUT"
	e2e_ok "$h: $OVX_OUT"
done
wait "$(topo_bg_pid ping-b1)"
wait "$(topo_bg_pid iperf-b2)"
e2e_expect_no_ping_loss "$(topo_bg_out ping-b1)" "$count"
e2e_expect_no_stall "$(topo_bg_out iperf-b2)" "$RATE"
echo "    RESULT: upgrade --migrate v$FROM -> v$NEW_ABI on 3 hosts under traffic: $E2E_PING_RESULT; $E2E_IPERF_RESULT"

e2e_step "after: ABI v$NEW_ABI pins, the same FDB, counters kept, a second upgrade is a plain one"
ovx_run h1 status --json || e2e_fail "status: $OVX_OUT"
[[ $(ovx_json_get abi_pinned <<<"$OVX_OUT") == "$NEW_ABI" && $(ovx_json_get healthy <<<"$OVX_OUT") == true ]] ||
	e2e_fail "status after migration: $OVX_OUT"
after=$(fdb_set h1)
missing=$(comm -23 <(echo "$before") <(echo "$after"))
[[ -z $missing ]] || e2e_fail "FDB entries lost in the migration: $missing"
e2e_ok "all $(wc -l <<<"$before") FDB entries of h1 kept (static and learned)"
ovx_run h1 stats --json || e2e_fail "stats: $OVX_OUT"
rx_after=$(ovx_json_seg_field rx_packets "$BLUE" <<<"$OVX_OUT")
((rx_after > rx_before)) || e2e_fail "rx_packets $rx_before -> $rx_after: counters not carried over"
e2e_ok "rx_packets $rx_before -> $rx_after"
read -r b3_rx_after b3_tx_after < <(port_counts h3)
((b3_rx_after >= b3_rx_before && b3_tx_after >= b3_tx_before)) ||
	e2e_fail "h3's port counters rx $b3_rx_before -> $b3_rx_after, tx $b3_tx_before -> $b3_tx_after: not carried over"
e2e_ok "h3's port counters carried over: rx $b3_rx_before -> $b3_rx_after, tx $b3_tx_before -> $b3_tx_after"
ovx_apply h1 || e2e_fail "apply after migration: $OVX_OUT"
e2e_ok "apply after migration: $OVX_OUT"
ovx_run h1 upgrade || e2e_fail "plain upgrade after migration: $OVX_OUT"
e2e_expect_ping b1 "$(topo_vm_ip b3)" 3

e2e_pass
