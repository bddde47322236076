#!/usr/bin/env bash
# Three ovx hosts, tenants blue (VNI 5001) and red (VNI 5002) with the same
# MACs and IPs on every host. Within a tenant, VMs reach each other across
# hosts, ARP included (flood path); nothing of one tenant reaches the other.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_vxlan_basic "reachability, ARP flooding and tenant isolation over ovx"
e2e_build_topology "ovx ovx ovx" "blue:5001 red:5002"
e2e_apply_all

BLUE=$(topo_tenant_segment blue)
RED=$(topo_tenant_segment red)

# Captures on every VM of OTHER while PINGER pings TARGETS; OTHER must see
# nothing. Every VM's ARP cache is flushed first, so that no VM has a reason
# to send anything of its own (neighbour refreshes) during the capture.
ping_isolated() {
	local tenant=$1 other=$2 pinger=$3
	shift 3
	local vm peer
	topo_neigh_flush $(topo_vms)
	for vm in $(topo_vms "$other"); do
		topo_capture_vm_start "iso-$tenant-$vm" "$vm" || e2e_fail "cannot capture on $vm"
	done
	for peer in "$@"; do
		e2e_expect_ping "$pinger" "$(topo_vm_ip "$peer")"
		e2e_expect_arp "$pinger" "$peer"
	done
	for vm in $(topo_vms "$other"); do
		topo_capture_stop "iso-$tenant-$vm"
		e2e_expect_capture_empty "iso-$tenant-$vm" "$other VM $vm while $tenant pinged"
	done
}

e2e_step "blue: b1 (h1) -> b2 (h2), b3 (h3) and b2 -> b3, neighbours flushed; capture on red VMs"
ping_isolated blue red b1 b2 b3
e2e_expect_ping b2 "$(topo_vm_ip b3)"

e2e_step "red: r1 (h1) -> r2 (h2), r3 (h3) and r3 -> r2, neighbours flushed; capture on blue VMs"
ping_isolated red blue r1 r2 r3
e2e_expect_ping r3 "$(topo_vm_ip r2)"

e2e_step "blue ARP for an absent address is flooded to blue VMs only"
topo_neigh_flush $(topo_vms) # no ARP refreshes left over from the pings above
for vm in b2 b3 r1 r2 r3; do
	topo_capture_vm_start "bum-$vm" "$vm" || e2e_fail "cannot capture on $vm"
done
e2e_expect_no_ping b1 10.0.0.99 2
for vm in b2 b3 r1 r2 r3; do topo_capture_stop "bum-$vm"; done
for vm in b2 b3; do
	n=$(topo_capture_count "bum-$vm" arp and host 10.0.0.99)
	((n > 0)) || e2e_fail "$vm did not receive b1's ARP broadcast for 10.0.0.99 (flood path)"
	e2e_ok "$vm received b1's ARP request for 10.0.0.99 ($n frames)"
done
for vm in r1 r2 r3; do
	e2e_expect_capture_empty "bum-$vm" "red VM $vm during blue's ARP flood"
done

e2e_step "ovx stats --json"
for h in h1 h2 h3; do
	e2e_print_seg_stats "$h" "$BLUE"
	e2e_print_seg_stats "$h" "$RED"
done
for h in h1 h2 h3; do
	for seg in "$BLUE" "$RED"; do
		e2e_stat rx "$h" "$seg" rx_packets
		e2e_stat tx "$h" "$seg" tx_packets
		((rx > 0 && tx > 0)) || e2e_fail "$h $seg: rx_packets=$rx tx_packets=$tx, want both > 0"
	done
	e2e_ok "$h: rx_packets and tx_packets > 0 in $BLUE and $RED"
done
e2e_stat flood h1 "$BLUE" flood_copies
((flood > 0)) || e2e_fail "h1 $BLUE: flood_copies=0 after b1's ARP broadcasts"
e2e_ok "h1 $BLUE: flood_copies=$flood"

e2e_pass
