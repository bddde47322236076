#!/usr/bin/env bash
# underlay.mode tc: no XDP program on the underlay, tc_underlay takes every
# overlay frame whole (GSO ones too). Two ovx hosts in mode tc, blue on VXLAN
# and red on NVGRE with the same MACs and IPs: no XDP on eth1, `ovx show` and
# `ovx status` say tc and healthy, pings within each tenant with nothing at
# the other's VMs, iperf3 TCP; then h1 switches to native (XDP attached),
# auto (which is tc on a veth), native and back to tc (XDP gone), its VMs
# reachable throughout.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${IPERF_SECS:-3}
export TOPO_XDP_MODE=tc

# expect_mode HOST MODE: show's xdp_mode, status healthy, XDP on eth1 iff
# MODE is an XDP mode.
expect_mode() {
	local host=$1 mode=$2 got health
	got=$(ovx_show_json "$host" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["underlay"]["xdp_mode"])')
	[[ $got == "$mode" ]] || e2e_fail "$host: ovx show says mode '$got', want '$mode'"
	health=$(ovx_run_stdout "$host" status --json | /usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin)
print("healthy" if v["healthy"] else "DEGRADED", *sorted(h["program"] for h in v["hooks"]))')
	[[ $health == healthy* ]] || e2e_fail "$host: ovx status says '$health' in mode $mode"
	if [[ $mode == tc ]]; then
		! ovx_xdp_attached "$host" || e2e_fail "$host: an XDP program on eth1 in mode tc"
		[[ $health != *xdp_underlay* ]] || e2e_fail "$host: status lists an XDP hook in mode tc"
	else
		ovx_xdp_attached "$host" || e2e_fail "$host: no XDP program on eth1 in mode $mode"
	fi
	e2e_ok "$host: mode $mode ($health)"
}

e2e_init test_mode_tc "underlay.mode tc: TC alone decapsulates, isolation kept, switches to and from XDP"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
e2e_build_topology "ovx ovx" "blue:5001 red:5002:nvgre"
e2e_apply_all
expect_mode h1 tc
expect_mode h2 tc

e2e_step "within each tenant, neighbours flushed; the other tenant's VMs captured"
topo_neigh_flush $(topo_vms)
for vm in $(topo_vms red); do topo_capture_vm_start "iso-$vm" "$vm" || e2e_fail "cannot capture on $vm"; done
e2e_expect_ping b1 "$(topo_vm_ip b2)"
e2e_expect_arp b1 b2
for vm in $(topo_vms red); do
	topo_capture_stop "iso-$vm"
	e2e_expect_capture_empty "iso-$vm" "red VM $vm while blue pinged"
done
e2e_expect_ping r1 "$(topo_vm_ip r2)"

e2e_step "iperf3 TCP ${SECS}s b1 -> b2 in mode tc"
topo_iperf_server b2 || e2e_fail "iperf3 server on b2 did not start"
gbps=$(topo_iperf_client b1 "$(topo_vm_ip b2)" "$SECS") || e2e_fail "iperf3: $gbps"
/usr/bin/python3 -c "import sys; sys.exit(0 if float('$gbps') > 0 else 1)" ||
	e2e_fail "iperf3 moved nothing in mode tc"
e2e_ok "iperf3 TCP b1 -> b2: $gbps Gbit/s"
e2e_info "RESULT: mode tc, VXLAN, iperf3 $gbps Gbit/s"

# auto (the default) picks tc on this veth underlay, also coming from native.
e2e_step "h1: tc -> native -> auto (tc on veth) -> native -> tc, re-applied in place"
for mode in native auto native tc; do
	TOPO_XDP_MODE=$mode topo_write_ovx_config h1 "$(topo_config_file h1)"
	ovx_apply h1 >/dev/null || e2e_fail "ovx apply on h1 in mode $mode: $OVX_OUT"
	expect_mode h1 "$([[ $mode == auto ]] && echo tc || echo "$mode")"
	e2e_expect_ping b1 "$(topo_vm_ip b2)"
	e2e_expect_ping r2 "$(topo_vm_ip r1)"
done
e2e_pass
