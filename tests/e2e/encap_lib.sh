# shellcheck shell=bash
#
# encap_lib.sh - the per-encapsulation e2e checks (sourced after lib.sh) of
# test_encap_<encap>.sh and test_encap_mixed.sh.
#
# encap_run ENCAP FAMILY ID_BLUE ID_RED builds two ovx hosts with tenants blue
# and red (same MACs and IPs) on ENCAP over an IPv4 or IPv6 underlay and
# checks: pings within each tenant both ways with empty ARP caches (flood
# path), zero frames at the other tenant's VMs, tshark's dissection of every
# overlay frame on the underlay (encap_wire_check), and an iperf3 TCP run
# that moves data.

IPERF_SECS=${IPERF_SECS:-2}
ENCAP_PINGS=${ENCAP_PINGS:-4}

# encap_id_field ENCAP: the tshark field that holds the segment id.
encap_id_field() {
	case $1 in
	vxlan) echo vxlan.vni ;;
	geneve) echo geneve.vni ;;
	nvgre) echo gre.key ;; # tshark has no NVGRE dissector: the key is VSID << 8 | FlowID
	stt) echo stt.context_id ;;
	esac
}

# encap_wire_check CAPTURE TENANT VM_A VM_B: capture CAPTURE (an underlay
# port, taken while VM_A and VM_B of TENANT pinged each other) as tshark
# dissects it: every overlay frame is TENANT's encapsulation over its family
# with TENANT's id in the header fields the RFC/draft fixes, and the inner
# frames include ICMP echo requests and replies between VM_A's and VM_B's
# MACs both ways.
encap_wire_check() {
	local cap=$1 tenant=$2 a=$3 b=$4
	local encap family id idf outer filter extra=() lines n bad report
	encap=$(topo_tenant_encap "$tenant")
	family=$(topo_tenant_family "$tenant")
	id=$(topo_tenant_vni "$tenant")
	idf=$(encap_id_field "$encap")
	[[ $family == 4 ]] && outer="ip.version == 4 && !ipv6" || outer=ipv6
	case $encap in
	vxlan) filter="vxlan"; extra=(udp.dstport udp.checksum) ;;
	geneve) filter="geneve"; extra=(udp.dstport udp.checksum geneve.proto_type geneve.options geneve.version) ;;
	nvgre) filter="gre"; extra=(gre.flags_and_version gre.proto) ;;
	stt) filter="stt"; extra=(stt.dport stt.version stt.pkt_len stt.seg_off stt.checksum.status
		_ws.expert.message) ;;
	esac
	E2E_TSHARK_OPTS=()
	# STT is a heuristic dissector: tshark tries it only before TCP's own.
	# Its TCP-like checksum is verified (see wire_check.py).
	[[ $encap == stt ]] && E2E_TSHARK_OPTS=(-o ip.try_heuristic_first:TRUE
		-o ipv6.try_heuristic_first:TRUE -o stt.check_checksum:TRUE)
	lines=$(e2e_tshark "$cap" "$filter" "$idf" eth.src eth.dst icmp.type ip.proto \
		ipv6.nxt "${extra[@]}")
	n=$(grep -c . <<<"$lines")
	((n > 0)) || e2e_fail "tshark found no $encap frame in capture $cap ($(topo_capture_count "$cap") frames)"
	report=$(/usr/bin/python3 "$E2E_LIB_DIR/wire_check.py" "$encap" "$family" "$id" \
		"$(topo_vm_mac "$a")" "$(topo_vm_mac "$b")" <<<"$lines") ||
		e2e_fail "tshark's dissection of $encap over IPv$family in $cap does not match (above)"
	e2e_ok "tshark, $encap over IPv$family ($cap): $report"
	# No other tunnel frame: of another encapsulation or family, or one
	# tshark does not take for this encapsulation.
	bad=$(e2e_tshark "$cap" "!($outer && $filter) && (udp || gre || tcp.port == 7471)" frame.number |
		grep -c .)
	((bad == 0)) || e2e_fail "$cap: $bad tunnel frame(s) other than $encap over IPv$family"
}

# encap_ping_pair VM_A VM_B: pings A -> B and B -> A, each with every VM's ARP
# cache empty (the first frame of each way is a flooded ARP request). The
# caches are emptied again at the end: an entry that only answered pings
# turns into an ARP probe 5 s later, which would land in the next tenant's
# captures and counters.
encap_ping_pair() {
	topo_neigh_flush $(topo_vms)
	e2e_expect_ping "$1" "$(topo_vm_ip "$2")" "$ENCAP_PINGS"
	e2e_expect_arp "$1" "$2"
	topo_neigh_flush $(topo_vms)
	e2e_expect_ping "$2" "$(topo_vm_ip "$1")" "$ENCAP_PINGS"
	e2e_expect_arp "$2" "$1"
	topo_neigh_flush $(topo_vms)
}

# encap_isolated_pings TENANT VM_A VM_B: encap_ping_pair while capturing on
# every VM of the other tenants (must stay empty) and on VM_A's host's
# underlay port (checked with encap_wire_check).
encap_isolated_pings() {
	local tenant=$1 a=$2 b=$3 vm cap="wire-$1"
	for vm in $(topo_vms); do
		[[ $(topo_vm_tenant "$vm") == "$tenant" ]] && continue
		topo_capture_vm_start "leak-$tenant-$vm" "$vm" || e2e_fail "cannot capture on $vm"
	done
	e2e_capture_underlay_start "$cap" "$(topo_vm_host "$a")"
	encap_ping_pair "$a" "$b"
	topo_capture_stop "$cap"
	for vm in $(topo_vms); do
		[[ $(topo_vm_tenant "$vm") == "$tenant" ]] && continue
		topo_capture_stop "leak-$tenant-$vm"
		e2e_expect_capture_empty "leak-$tenant-$vm" "$(topo_vm_tenant "$vm") VM $vm while $tenant pinged"
	done
	encap_wire_check "$cap" "$tenant" "$a" "$b"
}

# encap_iperf VM_A VM_B: iperf3 TCP A -> B for IPERF_SECS; prints Gbit/s.
encap_iperf() {
	local gbps
	topo_iperf_server "$2" || e2e_fail "iperf3 server on $2 did not start"
	gbps=$(topo_iperf_client "$1" "$(topo_vm_ip "$2")" "$IPERF_SECS") ||
		e2e_fail "iperf3 $1 -> $2 failed: $gbps $(cat "$TOPO_DIR/iperf-$1-"*.json.err 2>/dev/null)"
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('$gbps') > 0 else 1)" ||
		e2e_fail "iperf3 $1 -> $2: $gbps Gbit/s, want > 0"
	E2E_GBPS=$gbps
}

# encap_vm_offloads on|off VM...: TSO, GSO and GRO of each VM's eth0 and GRO
# of its port on the host.
encap_vm_offloads() {
	local state=$1 vm
	shift
	for vm in "$@"; do
		topo_vm_exec "$vm" ethtool -K eth0 tso "$state" gso "$state" gro "$state" >/dev/null 2>&1 ||
			e2e_fail "ethtool -K eth0 tso/gso/gro $state in $vm"
		topo_host_exec "$(topo_vm_host "$vm")" ethtool -K "$(topo_vm_port "$vm")" gro "$state" \
			>/dev/null 2>&1 || e2e_fail "ethtool -K $(topo_vm_port "$vm") gro $state on $(topo_vm_host "$vm")"
	done
	e2e_info "TSO/GSO/GRO $state on the veths of $*"
}

# encap_run ENCAP FAMILY ID_BLUE ID_RED: the whole check on a new topology
# (the caller tears it down: e2e_next_topology or the exit trap).
encap_run() {
	local encap=$1 family=$2 blue=$3 red=$4 seg mtu got h
	e2e_build_topology "ovx ovx" "blue:$blue:$encap:$family red:$red:$encap:$family"
	e2e_apply_all
	e2e_step "$encap/IPv$family: blue b1 <-> b2, red VMs and the underlay captured"
	encap_isolated_pings blue b1 b2
	e2e_step "$encap/IPv$family: red r2 <-> r1, blue VMs and the underlay captured"
	encap_isolated_pings red r2 r1

	mtu=$(topo_vm_mtu b1)
	e2e_step "$encap/IPv$family: full-size ($mtu bytes) DF pings b1 -> b2"
	got=$(topo_vm_exec b1 ping -n -q -M "do" -s $((mtu - 28)) -c 3 -i 0.2 -W 1 \
		"$(topo_vm_ip b2)" 2>&1 | sed -n 's/.* \([0-9]\+\) received.*/\1/p')
	((${got:-0} >= 2)) || e2e_fail "$mtu-byte DF pings b1 -> b2 over $encap/IPv$family: ${got:-0}/3 replies"
	e2e_ok "$mtu-byte DF pings b1 -> b2: $got/3 replies"

	e2e_step "$encap/IPv$family: iperf3 TCP ${IPERF_SECS}s b1 -> b2"
	# STT's TSO frames are test_encap_stt_tso.sh's: here the VMs send
	# MTU-sized frames, and GRO on their veths does not merge them again.
	[[ $encap == stt ]] && encap_vm_offloads off b1 b2
	encap_iperf b1 b2
	e2e_ok "iperf3 TCP b1 -> b2 over $encap/IPv$family: $E2E_GBPS Gbit/s"
	seg=$(topo_tenant_segment blue)
	for h in h1 h2; do e2e_print_seg_stats "$h" "$seg"; done
	ENCAP_RESULTS+=("$encap/IPv$family: iperf3 $E2E_GBPS Gbit/s")
}

# encap_require: the tools these tests use; fails loudly without them.
encap_require() {
	local t
	for t in iperf3 tshark tcpdump; do
		command -v "$t" >/dev/null || e2e_fail "$t not installed (scripts/install-deps.sh)"
	done
	[[ -x /usr/bin/python3 ]] || e2e_fail "/usr/bin/python3 missing"
}

# encap_summary: the RESULT lines of every encap_run of this test.
encap_summary() {
	local r
	echo
	for r in "${ENCAP_RESULTS[@]}"; do echo "    RESULT: $r"; done
}

# encap_test ENCAP ID_BLUE ID_RED DESCRIPTION: a whole test_encap_<ENCAP>.sh:
# encap_run over IPv4, then over IPv6 on a new topology.
encap_test() {
	e2e_init "test_encap_$1" "$4 over IPv4 and IPv6 underlays"
	encap_require
	ENCAP_RESULTS=()
	encap_run "$1" 4 "$2" "$3"
	e2e_next_topology
	encap_run "$1" 6 "$2" "$3"
	encap_summary
	e2e_pass
}
