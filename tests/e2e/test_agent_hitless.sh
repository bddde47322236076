#!/usr/bin/env bash
# Hitless operations under traffic: ping every 1 ms and an iperf3 TCP stream
# between two VMs on two ovx hosts while the agents are killed with -9 and
# restarted (adopting the pins) and while the programs are upgraded (ovx
# upgrade, and an agent started with --upgrade). Zero pings may be lost and
# no 100 ms interval of the stream may be empty.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${HITLESS_SECS:-8}
# HITLESS_OPS=0: the same traffic with no operation during it (a baseline
# for what the machine itself loses).
OPS=${HITLESS_OPS:-1}
# A paced stream: unpaced, iperf3 fills the veth backlogs of this (shared,
# 2-CPU) machine and loses packets with no operation at all, which would
# hide what the operations do.
RATE=${HITLESS_RATE:-200M}

e2e_init test_agent_hitless "kill -9 / restart and upgrade under 1 ms ping + iperf3: no loss"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
e2e_build_topology "ovx ovx" "blue:5001"

e2e_step "agents on h1 and h2"
for h in h1 h2; do
	ovx_agent_start "$h" "$(topo_config_file "$h")" --interval 1 ||
		e2e_fail "agent on $h did not apply: $(cat "$(ovx_agent_log "$h")")"
done
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
prog_id() { # HOST PROGRAM: the program's id from ovx status --json
	ovx_run_stdout "$1" status --json | /usr/bin/python3 -c '
import json, sys
print(next(p["id"] for p in json.load(sys.stdin)["programs"] if p["name"] == sys.argv[1]))' "$2"
}
xdp_before=$(prog_id h1 xdp_underlay) || e2e_fail "status --json on h1"
tc_before=$(prog_id h2 tc_port) || e2e_fail "status --json on h2"

e2e_step "traffic for ${SECS}s: ping -i 0.001 b1 -> b2 and iperf3 -b $RATE b1 -> b2 (0.1 s intervals)"
count=$((SECS * 1000 - 1500))
topo_iperf_server b2 || e2e_fail "iperf3 server on b2 did not start"
topo_bg ping-b1 "$(topo_vm_ns b1)" ping -n -q -i 0.001 -c "$count" -W 1 "$(topo_vm_ip b2)"
topo_bg iperf-b1 "$(topo_vm_ns b1)" iperf3 -c "$(topo_vm_ip b2)" -t "$SECS" -b "$RATE" -i 0.1 -J --connect-timeout 3000
sleep 1

((OPS)) || sleep "$SECS"
((OPS)) && e2e_step "during the traffic: kill -9 both agents and restart them"
for h in h1 h2; do
	((OPS)) || break
	ovx_agent_stop "$h" KILL
	ovx_agent_start "$h" "$(topo_config_file "$h")" --interval 1 ||
		e2e_fail "restarted agent on $h did not apply: $(tail -5 "$(ovx_agent_log "$h")")"
	grep 'adopted the pinned dataplane' "$(ovx_agent_log "$h")" >/dev/null ||
		e2e_fail "restarted agent on $h did not adopt the pins: $(tail -5 "$(ovx_agent_log "$h")")"
	e2e_ok "$h: agent killed (-9) and restarted; it adopted the pins"
done

((OPS)) && e2e_step "during the traffic: ovx upgrade on h1 and h2"
for h in h1 h2; do
	((OPS)) || break
	# Beside a running agent (a reconcile a second): wait for the writer
	# lock rather than lose the race to the agent's tick.
	ovx_run "$h" --wait upgrade || e2e_fail "ovx upgrade on $h: exit $OVX_RC: $OVX_OUT"
	e2e_ok "$h: $OVX_OUT"
done

if ((OPS)); then
e2e_step "during the traffic: kill -9 h1's agent, restart it with --upgrade"
ovx_agent_stop h1 KILL
ovx_agent_start h1 "$(topo_config_file h1)" --interval 1 --upgrade ||
	e2e_fail "agent --upgrade on h1: $(tail -5 "$(ovx_agent_log h1)")"
grep 'programs upgraded' "$(ovx_agent_log h1)" >/dev/null || e2e_fail "agent --upgrade did not upgrade"
e2e_ok "h1: $(grep 'programs upgraded' "$(ovx_agent_log h1)" | tail -1 | cut -d' ' -f4-)"
fi

e2e_step "results"
wait "$(topo_bg_pid ping-b1)"
wait "$(topo_bg_pid iperf-b1)"
e2e_expect_no_ping_loss "$(topo_bg_out ping-b1)" "$count"
e2e_expect_no_stall "$(topo_bg_out iperf-b1)" "$RATE"
xdp_after=$(prog_id h1 xdp_underlay)
tc_after=$(prog_id h2 tc_port)
((!OPS || (xdp_after != xdp_before && tc_after != tc_before))) ||
	e2e_fail "programs not replaced: h1 xdp $xdp_before -> $xdp_after, h2 tc_port $tc_before -> $tc_after"
e2e_ok "programs replaced: h1 xdp_underlay id $xdp_before -> $xdp_after, h2 tc_port id $tc_before -> $tc_after"

echo
ops="3 agent kill -9/restarts and 3 upgrades"
((OPS)) || ops="no operation (baseline)"
echo "    RESULT: $ops under traffic: $E2E_PING_RESULT; $E2E_IPERF_RESULT"
e2e_pass
