#!/usr/bin/env bash
# The receive side fails closed: with ovx's TC hook on h2's underlay gone
# (another tool deleted the clsact qdisc; no agent to put it back), nothing a
# tenant VM sends reaches h2's own stack. b1 (h1) sends UDP datagrams to h2's
# underlay address with h2's eth1 MAC as destination (flooded in blue, so
# XDP on h2 decapsulates them), and ARP replies that claim h1's underlay
# address for a MAC of its choosing. A UDP socket on h2 must receive nothing,
# and h2's neighbour entry for h1 must keep h1's MAC. Then `ovx apply`
# restores the hook and blue works again.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=20
PORT=9999
FAKE_MAC=02:de:ad:be:ef:01

e2e_init test_fail_closed "no decapsulated frame reaches the host stack without ovx's TC delivery"
e2e_build_topology "ovx ovx" "blue:5001"
e2e_apply_all

e2e_step "blue works: b1 -> b2"
e2e_expect_ping b1 "$(topo_vm_ip b2)"

H1_ADDR=$(topo_host_addr h1)
H2_ADDR=$(topo_host_addr h2)
H1_MAC=$(topo_host_exec h1 cat /sys/class/net/eth1/address)
H2_MAC=$(topo_host_exec h2 cat /sys/class/net/eth1/address)
B1_MAC=$(topo_vm_mac b1)

h2_neigh_h1() {
	topo_host_exec h2 ip neigh show "$H1_ADDR" dev eth1 |
		awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'
}
[[ $(h2_neigh_h1) == "$H1_MAC" ]] || e2e_fail "h2: neighbour $H1_ADDR is '$(h2_neigh_h1)', want $H1_MAC"
e2e_ok "h2: neighbour $H1_ADDR -> $H1_MAC (ovx's managed entry)"

e2e_step "h2: another tool deletes the clsact qdisc on eth1 (ovx's tc_underlay with it)"
topo_do topo_host_exec h2 tc qdisc del dev eth1 clsact
ovx_xdp_attached h2 || e2e_fail "h2: XDP is gone too; the test needs it attached"
e2e_ok "h2: XDP still attached, tc_underlay gone"

e2e_step "h2: a UDP socket on $H2_ADDR:$PORT"
topo_bg udp-h2 "$(topo_host_ns h2)" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(2048)
    print("got", peer[0], len(data), flush=True)
' "$PORT"
for _ in $(seq 50); do grep -q listening "$(topo_bg_out udp-h2)" && break; sleep 0.1; done
grep -q listening "$(topo_bg_out udp-h2)" || e2e_fail "UDP listener on h2 did not start"

e2e_step "b1 sends $N UDP datagrams to $H2_ADDR:$PORT (Ethernet to h2's eth1 MAC) and $N ARP replies '$H1_ADDR is at $FAKE_MAC'"
sleep 1.2 # past the neighbour table's locktime since ovx set the entry
topo_vm_exec b1 /usr/bin/python3 - "$B1_MAC" "$H2_MAC" "$H1_ADDR" "$H2_ADDR" "$PORT" "$FAKE_MAC" "$N" <<'EOF' ||
import sys
from scapy.all import ARP, IP, UDP, Ether, Raw, sendp
b1, h2mac, h1ip, h2ip, port, fake, n = sys.argv[1:]
udp = Ether(src=b1, dst=h2mac) / IP(src="10.0.0.1", dst=h2ip) / UDP(sport=40000, dport=int(port)) / Raw(b"tenant")
arp = Ether(src=b1, dst="ff:ff:ff:ff:ff:ff") / ARP(op=2, hwsrc=fake, psrc=h1ip, hwdst="ff:ff:ff:ff:ff:ff", pdst=h2ip)
for _ in range(int(n)):
    sendp(udp, iface="eth0", verbose=False)
    sendp(arp, iface="eth0", verbose=False)
EOF
	e2e_fail "scapy in b1 failed"
sleep 1

got=$(grep -c '^got' "$(topo_bg_out udp-h2)")
topo_bg_stop udp-h2
((got == 0)) || e2e_fail "h2's UDP socket received $got of $N datagrams from tenant VM b1"
e2e_ok "h2's UDP socket received nothing"
mac=$(h2_neigh_h1)
[[ $mac == "$H1_MAC" ]] || e2e_fail "h2: neighbour $H1_ADDR became '$mac' (tenant ARP reached h2's stack), want $H1_MAC"
e2e_ok "h2: neighbour $H1_ADDR still $H1_MAC"

e2e_step "ovx apply on h2 puts tc_underlay back; blue works again"
ovx_apply h2 || e2e_fail "ovx apply on h2: exit $OVX_RC: $OVX_OUT"
ovx_tc_attached h2 eth1 || e2e_fail "h2: tc_underlay not back on eth1 after apply"
e2e_expect_ping b1 "$(topo_vm_ip b2)"

e2e_pass
