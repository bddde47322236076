#!/usr/bin/env bash
# MAC learning without static remotes: host1 learns b2's MAC behind host2's
# VTEP from the first frame b2 sends, in blue only; unicast to b2 afterwards
# goes to host2 alone, not flooded (host1's flood_copies do not grow with
# it, host3's VM does not see it).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=${LEARN_PINGS:-20}

e2e_init test_vxlan_learning "FDB learning from the overlay, no flooding of known unicast"
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || e2e_fail "/usr/bin/python3 has no scapy"
TOPO_STATIC_REMOTES=0 TOPO_LEARNING=true \
	e2e_build_topology "ovx ovx ovx" "blue:5001 red:5002@h1,h2"
e2e_apply_all
BLUE=$(topo_tenant_segment blue)
RED=$(topo_tenant_segment red)
B2MAC=$(topo_vm_mac b2)
B2IP=$(topo_vm_ip b2)
H2ADDR=$(topo_host_addr h2)

# fdb_entry HOST SEGMENT MAC: the entry's JSON, empty (rc 1) if none.
fdb_entry() {
	local json
	json=$(ovx_show_json "$1") || e2e_fail "ovx --netns $1 show --json failed"
	ovx_json_fdb_entry "$2" "$3" <<<"$json"
}

e2e_step "before any traffic: h1 has no entry for b2 ($B2MAC)"
if entry=$(fdb_entry h1 "$BLUE" "$B2MAC"); then
	e2e_fail "h1 already has an FDB entry for $B2MAC before b2 sent anything: $entry"
fi
e2e_ok "h1 $BLUE: no entry for $B2MAC"

e2e_step "b2 sends one frame (gratuitous ARP broadcast); h1 must learn $B2MAC -> $H2ADDR"
topo_neigh_flush $(topo_vms)
topo_capture_vm_start garp-b1 b1 arp || e2e_fail "cannot capture on b1"
topo_vm_exec b2 /usr/bin/python3 -c '
import sys
from scapy.all import ARP, Ether, sendp
mac, ip = sys.argv[1], sys.argv[2]
sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
      iface="eth0", count=1, verbose=False)' "$B2MAC" "$B2IP" ||
	e2e_fail "scapy could not send from b2"
entry=""
for ((i = 0; i < 30; i++)); do
	entry=$(fdb_entry h1 "$BLUE" "$B2MAC") && break
	sleep 0.1
done
topo_capture_stop garp-b1
n=$(topo_capture_count garp-b1)
e2e_info "b1 received $n ARP frame(s) (the broadcast, via the flood path)"
[[ -n $entry ]] || e2e_fail "h1 did not learn $B2MAC in $BLUE within 3 s"
e2e_info "h1 FDB entry: $entry"
vtep=$(ovx_json_get vtep <<<"$entry") || e2e_fail "FDB entry without vtep: $entry"
learned=$(ovx_json_get learned <<<"$entry") || e2e_fail "FDB entry without learned: $entry"
[[ $vtep == "$H2ADDR" ]] || e2e_fail "h1 learned $B2MAC behind '$vtep', want $H2ADDR"
[[ $learned == true ]] || e2e_fail "h1's entry for $B2MAC has learned=$learned, want true"
e2e_ok "h1 $BLUE: $B2MAC -> vtep $vtep, learned"
if entry=$(fdb_entry h1 "$RED" "$B2MAC"); then
	e2e_fail "the blue frame taught h1's red segment too: $entry"
fi
e2e_ok "h1 $RED: no entry for $B2MAC (red's own b2-twin r2 is silent)"
e2e_stat nlearned h1 "$BLUE" learned
((nlearned >= 1)) || e2e_fail "h1 $BLUE: learned counter is $nlearned, want >= 1"
e2e_ok "h1 $BLUE: learned=$nlearned"

e2e_step "$N unicast pings b1 -> b2 (static ARP, so no broadcast at all); capture on b3"
topo_neigh_flush $(topo_vms)
topo_neigh_set b1 b2
topo_neigh_set b2 b1
topo_capture_vm_start uni-b3 b3 || e2e_fail "cannot capture on b3"
e2e_stat flood0 h1 "$BLUE" flood_copies
e2e_stat h3rx0 h3 "$BLUE" rx_packets
e2e_expect_ping b1 "$B2IP" "$N"
e2e_stat flood1 h1 "$BLUE" flood_copies
e2e_stat h3rx1 h3 "$BLUE" rx_packets
topo_capture_stop uni-b3
e2e_info "h1 $BLUE flood_copies: $flood0 -> $flood1; h3 $BLUE rx_packets: $h3rx0 -> $h3rx1"
((flood1 - flood0 < N)) ||
	e2e_fail "h1 flood_copies grew by $((flood1 - flood0)) over $N unicast pings: known unicast is flooded"
e2e_ok "h1 flood_copies grew by $((flood1 - flood0)) (< $N)"
((h3rx1 - h3rx0 < N)) ||
	e2e_fail "h3 received $((h3rx1 - h3rx0)) blue frames during $N unicast pings to h2's VM"
e2e_ok "h3 $BLUE rx_packets grew by $((h3rx1 - h3rx0)) (< $N)"
e2e_expect_capture_empty uni-b3 "b3 (h3) during unicast b1 -> b2" icmp
for h in h1 h2 h3; do e2e_print_seg_stats "$h" "$BLUE"; done

e2e_pass
