#!/usr/bin/env bash
# Interoperability with the Linux kernel's VXLAN, over an IPv4 and then an
# IPv6 underlay: h1 and h2 run ovx, h3 runs a kernel vxlan device (VNI 5001,
# dstport 4789) in a bridge; all three are in blue's segment. VMs ping each
# other every way, both sides learn, iperf3 TCP both ways between an ovx VM
# and the kernel host's VM. Over IPv6 the kernel device has udp6zerocsumrx
# (ovx sends UDP checksum 0, RFC 6935/6936) and sends checksummed frames
# itself, which ovx must accept: the capture on h3's port shows both.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${IPERF_SECS:-3}

# interop FAMILY: the whole check on a new topology.
interop() {
	local family=$1 pair from to kfdb want vm json entry vtep to_kernel from_kernel n
	e2e_build_topology "ovx ovx kernel" "blue:5001:vxlan:$family"
	e2e_info "h3 (kernel) vx5001: $(ip -n "$(topo_host_ns h3)" -d link show dev vx5001 |
		grep -o 'vxlan id .*' | cut -c1-120)"
	e2e_info "h3 (kernel) flood entries: $(bridge -n "$(topo_host_ns h3)" fdb show dev vx5001 |
		awk '/^00:00:00:00:00:00/ {print $3}' | tr '\n' ' ')"
	e2e_apply_all
	BLUE=$(topo_tenant_segment blue)

	e2e_step "IPv$family: ping every pair both ways, ARP caches flushed before each (flood path both ways)"
	e2e_capture_underlay_start "k-h3" h3 udp port 4789
	for pair in "b1 b3" "b3 b1" "b2 b3" "b3 b2" "b1 b2" "b2 b1"; do
		read -r from to <<<"$pair"
		topo_neigh_flush $(topo_vms)
		e2e_expect_ping "$from" "$(topo_vm_ip "$to")"
		e2e_expect_arp "$from" "$to"
	done
	topo_capture_stop "k-h3"
	if [[ $family == 6 ]]; then
		n=$(e2e_tshark k-h3 "ipv6.src == $(topo_host_addr h3) && vxlan && udp.checksum != 0" \
			frame.number | grep -c .)
		((n > 0)) || e2e_fail "no checksummed VXLAN frame from the kernel VTEP h3 in the capture"
		e2e_ok "kernel h3 sent $n VXLAN frames with a UDP checksum; ovx took them (pings above)"
		n=$(e2e_tshark k-h3 "ipv6.dst == $(topo_host_addr h3) && vxlan && udp.checksum != 0" \
			frame.number | grep -c .)
		((n == 0)) || e2e_fail "ovx sent $n VXLAN frames with a non-zero UDP checksum to h3"
		e2e_ok "ovx's frames to h3 have UDP checksum 0 (accepted with udp6zerocsumrx)"
	fi

	e2e_step "IPv$family: both sides learned each other"
	kfdb=$(bridge -n "$(topo_host_ns h3)" fdb show dev vx5001)
	for vm in b1 b2; do
		want="$(topo_vm_mac "$vm") dst $(topo_host_addr "$(topo_vm_host "$vm")")"
		if ! grep "^$want" <<<"$kfdb" >/dev/null; then
			e2e_info "h3 vx5001 FDB:"
			sed 's/^/      /' <<<"$kfdb"
			e2e_fail "the kernel VTEP did not learn $vm: no '$want' entry"
		fi
		e2e_ok "kernel h3 vx5001: $want"
	done
	json=$(ovx_show_json h1) || e2e_fail "ovx --netns h1 show --json failed"
	entry=$(ovx_json_fdb_entry "$BLUE" "$(topo_vm_mac b3)" <<<"$json") ||
		e2e_fail "h1 has no FDB entry for b3 ($(topo_vm_mac b3)) after the pings"
	vtep=$(ovx_json_get vtep <<<"$entry")
	[[ $vtep == "$(topo_host_addr h3)" ]] || e2e_fail "h1 has b3 behind '$vtep', want $(topo_host_addr h3)"
	e2e_ok "ovx h1: $(topo_vm_mac b3) -> vtep $vtep"

	e2e_step "IPv$family: iperf3 TCP ${SECS}s each way between b1 (ovx h1) and b3 (kernel h3)"
	topo_iperf_server b3 5201 || e2e_fail "iperf3 server on b3 did not start"
	to_kernel=$(topo_iperf_client b1 "$(topo_vm_ip b3)" "$SECS" 5201) ||
		e2e_fail "iperf3 b1 -> b3 failed: $to_kernel"
	e2e_ok "b1 (ovx) -> b3 (kernel): $to_kernel Gbit/s"
	topo_iperf_server b1 5202 || e2e_fail "iperf3 server on b1 did not start"
	from_kernel=$(topo_iperf_client b3 "$(topo_vm_ip b1)" "$SECS" 5202) ||
		e2e_fail "iperf3 b3 -> b1 failed: $from_kernel"
	e2e_ok "b3 (kernel) -> b1 (ovx): $from_kernel Gbit/s"
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('$to_kernel') > 0 and float('$from_kernel') > 0 else 1)" ||
		e2e_fail "zero throughput ($to_kernel / $from_kernel Gbit/s)"
	for h in h1 h2; do e2e_print_seg_stats "$h" "$BLUE"; done
	e2e_info "h3 vx5001 (kernel): $(ip -n "$(topo_host_ns h3)" -s -j link show dev vx5001 |
		/usr/bin/python3 -c 'import json, sys; s = json.load(sys.stdin)[0]["stats64"]
print("rx_packets=%d tx_packets=%d rx_errors=%d rx_dropped=%d" % (s["rx"]["packets"],
      s["tx"]["packets"], s["rx"]["errors"], s["rx"]["dropped"]))')"
	RESULTS+=("IPv$family: ovx -> kernel VXLAN: $to_kernel Gbit/s, kernel VXLAN -> ovx: $from_kernel Gbit/s (TCP, ${SECS}s)")
}

e2e_init test_vxlan_interop "ovx <-> Linux kernel VXLAN in one segment, IPv4 and IPv6 underlays"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
command -v tshark >/dev/null || e2e_fail "tshark not installed"
RESULTS=()
interop 4
e2e_next_topology
interop 6
echo
for r in "${RESULTS[@]}"; do echo "    RESULT: $r"; done
e2e_pass
