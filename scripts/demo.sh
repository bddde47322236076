#!/usr/bin/env bash
#
# ovx demo: three hosts running ovx on a shared underlay, two tenants (blue,
# VNI 5001 and red, VNI 5002) whose VMs use the SAME MAC and IP addresses.
# Shows that VMs reach each other within their tenant across hosts, that
# nothing crosses between tenants, and ovx's counters; then removes
# everything it created.
#
#   sudo scripts/demo.sh                 # OVX=path/to/ovx (default build/ovx)
#   sudo DEMO_KEEP=1 scripts/demo.sh     # keep the topology up until Enter
#
# Exit status 0 when everything behaved as expected, 1 otherwise.
#
#                underlay (bridge br0, 192.168.77.0/24)
#        +------------------+------------------+
#   h1 192.168.77.1    h2 192.168.77.2    h3 192.168.77.3     (ovx on eth1)
#    b1 blue 10.0.0.1   b2 blue 10.0.0.2
#    r1 red  10.0.0.1   r2 red  10.0.0.2   r3 red 10.0.0.3
#   (b1 and r1 share MAC 02:00:00:00:01:01, b2 and r2 02:00:00:00:02:01)
set -uo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/ovx.sh
source "$REPO/scripts/lib/ovx.sh"

if [[ -t 1 ]]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B="" G="" R="" D="" N=""
fi
CHECKS=0
FAILURES=0

heading() { printf '\n%s== %s ==%s\n' "$B" "$*" "$N"; }
say() { printf '  %s\n' "$*"; }
shown() { printf '  %s$ %s%s\n' "$D" "$*" "$N"; }
# verdict OK|FAIL TEXT: one checked outcome.
verdict() {
	CHECKS=$((CHECKS + 1))
	if [[ $1 == OK ]]; then
		printf '  %s[as expected]%s %s\n' "$G" "$N" "$2"
	else
		FAILURES=$((FAILURES + 1))
		printf '  %s[UNEXPECTED]%s  %s\n' "$R" "$N" "$2"
	fi
}

# ping_expect VM DST yes|no: pings and checks the outcome.
ping_expect() {
	local vm=$1 dst=$2 want=$3 got what
	what="$vm ($(topo_vm_tenant "$vm") on $(topo_vm_host "$vm")) ping $dst"
	shown "ip netns exec $(topo_vm_ns "$vm") ping -c 3 $dst"
	got=$(topo_ping_received "$vm" "$dst" 3)
	if [[ $want == yes ]]; then
		if ((got > 0)); then verdict OK "$what: $got/3 replies"; else verdict FAIL "$what: no reply"; fi
	else
		if ((got == 0)); then verdict OK "$what: no reply"; else verdict FAIL "$what: $got/3 replies"; fi
	fi
}

# capture_expect_empty NAME VM WHAT
capture_expect_empty() {
	local n
	n=$(topo_capture_count "$1")
	if ((n == 0)); then
		verdict OK "$2 ($(topo_vm_tenant "$2")) captured nothing $3"
	else
		verdict FAIL "$2 ($(topo_vm_tenant "$2")) captured $n frame(s) $3:"
		topo_capture_print "$1" 5
	fi
}

on_exit() {
	local rc=$?
	trap - EXIT INT TERM
	heading "Cleanup"
	if topo_cleanup; then
		say "ovx down on every host, namespaces ${TOPO_PREFIX:-?}-* deleted, nothing left"
	else
		say "${R}cleanup left something behind (see above)${N}"
		((rc != 0)) || rc=1
	fi
	exit "$rc"
}

[[ $(id -u) -eq 0 ]] || { echo "demo.sh: run as root" >&2; exit 1; }
ovx_require
topo_init
trap on_exit EXIT
trap 'trap - INT; echo; echo "interrupted" >&2; exit 130' INT
trap 'trap - TERM; echo "terminated" >&2; exit 143' TERM

printf "%sovx demo: two tenants with the same MACs and IPs on three ovx hosts%s\n" "$B" "$N"
say "(blue's segment is VXLAN, red's STT: one host carries both)"
heading "Building the topology (run $TOPO_ID, namespaces $TOPO_PREFIX-*)"
TOPO_QUIET=1
topo_add_underlay
topo_add_tenant blue 5001
topo_add_tenant red 5002
topo_set_tenant_encap red stt 4
for i in 1 2 3; do topo_add_host "h$i" "192.168.77.$i"; done
topo_add_vm h1 b1 blue 02:00:00:00:01:01 10.0.0.1/24
topo_add_vm h2 b2 blue 02:00:00:00:02:01 10.0.0.2/24
topo_add_vm h1 r1 red 02:00:00:00:01:01 10.0.0.1/24
topo_add_vm h2 r2 red 02:00:00:00:02:01 10.0.0.2/24
topo_add_vm h3 r3 red 02:00:00:00:03:01 10.0.0.3/24
topo_finalize
topo_summary
if topo_check_underlay; then
	verdict OK "underlay: the three hosts reach each other"
else
	verdict FAIL "underlay: hosts cannot reach each other"
	exit 1
fi

heading "ovx configuration of h1 (generated from the topology)"
sed 's/^/    /' "$(topo_config_file h1)"

heading "Applying the configurations with $OVX"
for h in h1 h2 h3; do
	shown "ovx --netns $(topo_host_ns "$h") apply -f $(topo_config_file "$h")"
	if ovx_apply "$h"; then
		verdict OK "$h: applied"
	else
		verdict FAIL "$h: ovx apply exit $OVX_RC"
		printf '%s\n' "$OVX_OUT" | sed 's/^/    /'
		exit 1
	fi
done
shown "ovx --netns $(topo_host_ns h1) show"
ovx_run h1 show
printf '%s\n' "$OVX_OUT" | sed 's/^/    /'

heading "Within a tenant: VMs on different hosts reach each other"
say "(ARP caches are empty: the first ARP request is flooded by ovx to the other hosts)"
say "(red VMs are captured while blue pings: they share blue's MACs and IPs but must see nothing)"
topo_neigh_flush $(topo_vms)
for vm in r1 r2 r3; do topo_capture_vm_start "w-$vm" "$vm" >/dev/null; done
ping_expect b1 10.0.0.2 yes
for vm in r1 r2 r3; do topo_capture_stop "w-$vm"; done
for vm in r1 r2 r3; do capture_expect_empty "w-$vm" "$vm" "while blue pinged"; done
ping_expect r1 10.0.0.2 yes
ping_expect r1 10.0.0.3 yes
ping_expect r3 10.0.0.1 yes

heading "Across tenants: blue cannot reach red"
say "10.0.0.3 exists only in red (r3 on h3); blue's b1 asks for it."
topo_neigh_flush $(topo_vms)
for vm in b2 r1 r2 r3; do topo_capture_vm_start "x-$vm" "$vm" >/dev/null; done
ping_expect b1 10.0.0.3 no
for vm in b2 r1 r2 r3; do topo_capture_stop "x-$vm"; done
n=$(topo_capture_count x-b2 arp and host 10.0.0.3)
if ((n > 0)); then
	verdict OK "b2 (blue) saw b1's ARP request for 10.0.0.3 ($n): flooded within blue"
else
	verdict FAIL "b2 (blue) did not see b1's ARP broadcast"
fi
for vm in r1 r2 r3; do capture_expect_empty "x-$vm" "$vm" "from blue's ARP for 10.0.0.3"; done

heading "Bulk TCP inside red, over STT, with the VMs' TSO"
say "(the VM hands ovx 64 KB frames; ovx's segmenter cuts them before STT encapsulation)"
if topo_iperf_server r2 && gbps=$(topo_iperf_client r1 10.0.0.2 2); then
	verdict OK "r1 -> r2: iperf3 TCP $gbps Gbit/s"
else
	verdict FAIL "r1 -> r2: iperf3 TCP failed"
fi

heading "ovx stats"
for h in h1 h2 h3; do
	say "${B}$h${N} ($(topo_host_ns "$h")):"
	ovx_print_stats "$h"
done

heading "Result"
if ((FAILURES == 0)); then
	say "${G}all $CHECKS checks as expected${N}"
else
	say "${R}$FAILURES of $CHECKS checks unexpected${N}"
fi

if [[ ${DEMO_KEEP:-0} == 1 && -t 0 ]]; then
	heading "Topology kept up"
	say "try, for example:"
	say "  ip netns exec $(topo_vm_ns b1) ping 10.0.0.2"
	say "  $OVX --netns $(topo_host_ns h1) show"
	say "  $OVX --netns $(topo_host_ns h1) stats"
	say "  ip netns exec $(topo_host_ns h2) tcpdump -ni eth1 udp port 4789"
	read -r -p "  press Enter to clean up " _
fi
((FAILURES == 0))
