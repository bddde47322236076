#!/usr/bin/env bash
# A VM moves between hosts in cluster mode and keeps its MAC and IP.
# Make-before-break, 10 moves h1 -> h2 -> h1 ...: the VM's NIC is plugged
# into the new host (a second veth on the VM's bridge), the new host binds
# the MAC (a higher MAC mobility sequence number wins everywhere), then the
# old host lets go and the old NIC is unplugged; a peer on h3 pings it every
# millisecond throughout: nothing lost. Break-before-make with a 50 ms gap:
# losses reported, bounded by the gap plus convergence.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/cluster_lib.sh"

e2e_init test_cluster_mobility "VM moves between hosts: make-before-break loses nothing"
e2e_build_topology "ovx ovx ovx" "blue:5001"
etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" 1 || e2e_fail "etcd did not start"
cluster_write_segments "$TOPO_DIR/cluster.yaml"
cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" >/dev/null || e2e_fail "cluster apply"

# Ten moves in seconds would be frozen by EVPN's default (5 in 180 s) as a
# MAC flapping between hosts; this test moves on purpose.
CLUSTER_MOBILITY="{freeze_moves: 100, freeze_window: 60}"
X=b1 Y=b3
XNS=$(topo_vm_ns $X) XMAC=$(topo_vm_mac $X) XIP=$(topo_vm_ip $X)
SEG=$(topo_tenant_segment blue)
MTU=$(topo_vm_mtu $X)
cluster_vm_on_bridge $X
NIC_HOST[0]=h1 NIC_PORT[0]=$(topo_vm_port $X) NIC_VM[0]=eth0

# host_file HOST [extra VM port on HOST]: HOST's file, with X's NIC there.
host_file() { cluster_mover_file "$1" "$X" 3 "${2:-}"; }
for h in h1 h2 h3; do
	if [[ $h == h1 ]]; then f=$(host_file h1 "${NIC_PORT[0]}"); else f=$(host_file "$h"); fi
	cluster_agent_start "$h" "$f" || e2e_fail "agent on $h: $(tail -5 "$(ovx_agent_log "$h")")"
done
e2e_expect_ping $Y "$XIP" 5

# x_vtep_on HOST: the VTEP HOST's FDB sends X's MAC to ("local": a port).
x_vtep_on() {
	"$OVX" --netns "$(topo_host_ns "$1")" fdb show --segment "$SEG" --json | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["fdb"]:
    if e["mac"] == sys.argv[1]:
        print(e.get("vtep") or "local")' "$XMAC"
}
x_on() { [[ $(x_vtep_on h3) == "$(topo_host_addr "$1")" ]]; }

# plug N HOST: X's NIC N, a veth from X's bridge to a new port on HOST.
plug() {
	local n=$1 h=$2 port="vmx$1"
	ip link add "xn$n" netns "$XNS" mtu "$MTU" type veth peer name "$port" netns "$(topo_host_ns "$h")" mtu "$MTU"
	ip -n "$XNS" link set "xn$n" master xbr up
	ip -n "$(topo_host_ns "$h")" link set "$port" up
	NIC_HOST[$n]=$h NIC_PORT[$n]=$port NIC_VM[$n]=xn$n
}
unplug() { ip -n "$XNS" link del "${NIC_VM[$1]}"; }

move() { # move N FROM TO MODE: NIC N-1 on FROM, NIC N on TO
	local n=$1 from=$2 to=$3 mode=$4
	if [[ $mode == mbb ]]; then
		plug "$n" "$to"
		host_file "$to" "vmx$n" >/dev/null
		cluster_wait "h3 sends X to $to" x_on "$to"
		host_file "$from" >/dev/null
		sleep 0.3
		unplug $((n - 1))
	else
		unplug $((n - 1))
		host_file "$from" >/dev/null
		sleep 0.05
		plug "$n" "$to"
		host_file "$to" "vmx$n" >/dev/null
		cluster_wait "h3 sends X to $to" x_on "$to"
	fi
}

e2e_step "make-before-break: 10 moves h1 <-> h2 under a 1 ms ping from h3"
topo_bg pings "$(topo_vm_ns $Y)" ping -i 0.001 -W 1 "$XIP"
sleep 0.5
from=h1
for n in $(seq 1 10); do
	to=$([[ $from == h1 ]] && echo h2 || echo h1)
	move "$n" "$from" "$to" mbb
	e2e_info "move $n: $from -> $to"
	from=$to
done
sleep 0.5
topo_bg_stop pings INT
summary=$(grep -E "packets transmitted" "$(topo_bg_out pings)")
e2e_info "$summary"
sent=$(awk '{print $1}' <<<"$summary") got=$(awk '{print $4}' <<<"$summary")
((sent > 1000)) || e2e_fail "only $sent pings sent"
((got == sent)) || e2e_fail "make-before-break lost $((sent - got)) of $sent pings"
moves=$("$OVX" --netns "$(topo_host_ns h3)" show --json >/dev/null; /usr/bin/python3 -c 'import json; print(json.load(open("/run/ovx/'"$(ovx_instance h3)"'/cluster.json"))["view"]["moves"])')
e2e_ok "$sent pings, 0 lost; h3 counted $moves moves"

e2e_step "break-before-make with a 50 ms gap: losses bounded"
topo_bg pings2 "$(topo_vm_ns $Y)" ping -i 0.001 -W 1 "$XIP"
sleep 0.5
n=11
to=$([[ $from == h1 ]] && echo h2 || echo h1)
t0=$(date +%s%N)
move "$n" "$from" "$to" bbm
t1=$(date +%s%N)
sleep 0.5
topo_bg_stop pings2 INT
summary=$(grep -E "packets transmitted" "$(topo_bg_out pings2)")
sent=$(awk '{print $1}' <<<"$summary") got=$(awk '{print $4}' <<<"$summary")
lost=$((sent - got)) window_ms=$(((t1 - t0) / 1000000))
e2e_info "$summary"
((lost <= window_ms + 20)) || e2e_fail "break-before-make lost $lost pings in a ${window_ms} ms move"
e2e_ok "lost $lost pings (1 ms apart) in a move that took ${window_ms} ms (gap 50 ms + convergence)"

e2e_pass
