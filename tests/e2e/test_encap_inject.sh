#!/usr/bin/env bash
# scapy as an independent sender of overlay frames, from h2's underlay to h1
# (dual-stack): a Geneve frame with a non-critical option reaches the VM over
# IPv4 and IPv6; one with a critical option (critical type bit, or the C
# flag) is dropped and counted as critical_option, nothing else moving; an
# NVGRE frame reaches the VM, one with the GRE checksum bit is dropped as
# unsupported_flags; STT frames of 3000 bytes sent as three segments are
# reassembled (stt_reassembled) and reach the VM whole over IPv4 and IPv6; a
# segment inconsistent with its frame's first segment is counted as a
# reassembly drop.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/counters.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

e2e_init test_encap_inject "crafted Geneve, NVGRE and STT frames from scapy: delivered or dropped and counted"
encap_require
/usr/bin/python3 -c 'import scapy.contrib.geneve, scapy.layers.l2' 2>/dev/null ||
	e2e_fail "python3-scapy (Debian's, for /usr/bin/python3) is not installed"
e2e_build_topology "ovx ovx" \
	"blue:5001:geneve:4 red:5002:geneve:6 green:5003:nvgre:6 yellow:5004:stt:4 purple:5005:stt:6"
e2e_apply_all
H1_MAC=$(host_mac h1)
INNER=(--inner-src "$(topo_vm_mac b2)" --inner-dst "$(topo_vm_mac b1)")
UDP_LEN=98 # inject.py's inner frame: 14 + 20 + 8 + 56 bytes of "ovx-e2e"

# inject TENANT COUNT KIND [inject.py options]: from h2 to h1 over TENANT's
# family, with TENANT's id.
inject() {
	local tenant=$1 count=$2 kind=$3
	shift 3
	inject_from_host h2 "$count" "$kind" --dst-mac "$H1_MAC" \
		--src-ip "$(topo_tenant_vtep "$tenant" h2)" --dst-ip "$(topo_tenant_vtep "$tenant" h1)" \
		--vni "$(topo_tenant_vni "$tenant")" "${INNER[@]}" "$@"
}

# expect_delivered TENANT N MIN_LEN: the tenant's VM on h1 captured N of
# inject.py's inner frames of at least MIN_LEN bytes, and h1 counted N more
# rx_packets in the tenant's segment.
expect_delivered() {
	local tenant=$1 n=$2 len=$3 vm="${1:0:1}1" got rx
	topo_capture_stop "in-$vm"
	got=$(topo_capture_count "in-$vm" udp dst port 5678 and greater "$len")
	((got == n)) || e2e_fail "$vm ($tenant) received $got of the $n injected frames ($len bytes or more)"
	e2e_stat rx h1 "$(topo_tenant_segment "$tenant")" rx_packets
	((rx - RX0 == n)) || e2e_fail "h1 $(topo_tenant_segment "$tenant"): rx_packets +$((rx - RX0)), want +$n"
	e2e_ok "$vm ($tenant) received all $n frames ($len bytes or more); h1 rx_packets +$n"
}

# start_delivery TENANT: capture on the tenant's VM on h1, remember rx_packets.
start_delivery() {
	local vm="${1:0:1}1"
	topo_capture_vm_start "in-$vm" "$vm" udp || e2e_fail "cannot capture on $vm"
	e2e_stat RX0 h1 "$(topo_tenant_segment "$1")" rx_packets
}

# expect_dropped SNAPSHOT TENANT EXPECT...: since SNAPSHOT (a file of
# stats_snapshot), exactly EXPECT moved on h1, and the tenant's VM on h1 saw
# none of inject.py's frames.
expect_dropped() {
	local before=$1 tenant=$2 vm="${2:0:1}1" got
	shift 2
	topo_capture_stop "in-$vm"
	got=$(topo_capture_count "in-$vm" udp dst port 5678)
	((got == 0)) || e2e_fail "$vm ($tenant) received $got frame(s) that ovx must drop"
	e2e_ok "$vm ($tenant) received none of them"
	sleep 0.2
	expect_deltas h1 "$before" "$(stats_snapshot h1 "$(basename "$before" .json)-after")" "$@"
}

for tenant in blue red; do
	fam=$(topo_tenant_family "$tenant")
	e2e_step "Geneve over IPv$fam ($tenant): 3 frames with a non-critical option are delivered"
	start_delivery "$tenant"
	inject "$tenant" 3 geneve --port 6081 --geneve-opt noncrit
	expect_delivered "$tenant" 3 "$UDP_LEN"

	e2e_step "Geneve over IPv$fam ($tenant): 2 with a critical option, 4 with the C flag: dropped"
	snap=$(stats_snapshot h1 "crit-$tenant")
	start_delivery "$tenant"
	inject "$tenant" 2 geneve --port 6081 --geneve-opt crit
	inject "$tenant" 4 geneve --port 6081 --geneve-opt critflag
	expect_dropped "$snap" "$tenant" "unassigned:critical_option=6"
done

e2e_step "NVGRE over IPv6 (green): 3 frames delivered, 5 with the GRE checksum bit dropped"
start_delivery green
inject green 3 nvgre
expect_delivered green 3 "$UDP_LEN"
snap=$(stats_snapshot h1 nvgre-flags)
start_delivery green
inject green 5 nvgre-csum
expect_dropped "$snap" green "unassigned:unsupported_flags=5"

for tenant in yellow purple; do
	fam=$(topo_tenant_family "$tenant")
	vm="${tenant:0:1}1"
	# The rebuilt 3000-byte frame is no GSO frame: the VM's link must take it.
	topo_do topo_vm_exec "$vm" ip link set dev eth0 mtu 9000
	topo_do topo_host_exec h1 ip link set dev "$(topo_vm_port "$vm")" mtu 9000
	e2e_step "STT over IPv$fam ($tenant): 2 frames of 3000 bytes in 3 segments each, reassembled"
	e2e_stat re0 h1 "$(topo_tenant_segment "$tenant")" stt_reassembled
	start_delivery "$tenant"
	inject "$tenant" 1 stt --size 3000 --segs 3 --frame-id 101
	inject "$tenant" 1 stt --size 3000 --segs 3 --frame-id 102
	expect_delivered "$tenant" 2 3000
	e2e_stat re1 h1 "$(topo_tenant_segment "$tenant")" stt_reassembled
	((re1 - re0 == 2)) || e2e_fail "h1: stt_reassembled +$((re1 - re0)), want +2"
	e2e_ok "h1 $(topo_tenant_segment "$tenant"): stt_reassembled +2"

	e2e_step "STT over IPv$fam ($tenant): a segment whose frame length contradicts its frame's first"
	snap=$(stats_snapshot h1 "stt-bad-$tenant")
	start_delivery "$tenant"
	inject "$tenant" 1 stt --size 3000 --segs 3 --frame-id 103 --send 0
	inject "$tenant" 1 stt --size 3000 --segs 3 --frame-id 103 --send 1 --stt-len 4000
	# Counted in the segment whose frame it was (issue 13: a victim's losses
	# are its own, not segment 0's).
	expect_dropped "$snap" "$tenant" "segment:$(topo_tenant_segment "$tenant"):drops.reassembly=1"
done
e2e_pass
