#!/usr/bin/env bash
# STT with the VMs' TSO on (their default): frames of up to 64 KB, larger
# than the underlay MTU. ovx hands each to the instance's segmenter (a veth
# pair whose software GSO cuts it and completes the checksums, see
# loader/segmenter.h) and sends the segments as STT frames; over an IPv4
# and then an IPv6 underlay (an IPv4 VM over IPv6 too). Checks: iperf3 moves
# data, h1 counts the cuts (stt_segments), no drop on either host, the
# segmenter exists while STT segments do and is gone after `ovx down`.
# Then VMs of MTU 4000 on the 1500-byte underlay: their frames leave in
# several STT segments (cut by tc_port) and are rebuilt by h2.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SECS=${IPERF_SECS:-3}

# seg_stats HOST: "rx tx stt_segments stt_reassembled drops" of blue-web.
seg_stats() {
	ovx_stats_json "$1" | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["segments"]:
    if s["name"] == sys.argv[1]:
        d = ",".join("%s:%d" % kv for kv in sorted(s["drops"].items()) if kv[1]) or "-"
        print(s["rx_packets"], s["tx_packets"], s["stt_segments"], s["stt_reassembled"], d)' "$(topo_tenant_segment blue)" 2>&1
}

# unassigned_drops HOST: the drops counted in no segment, "-" if none.
unassigned_drops() {
	ovx_stats_json "$1" | /usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin).get("unassigned_drops", {})
print(",".join("%s:%d" % kv for kv in sorted(d.items()) if kv[1]) or "-")'
}

# underlay_lost: packets the underlay's veths could not hand to their peer
# (tx_dropped of h1's and h2's eth1 and of the bridge's ports: the peer's
# receive backlog was full), whatever ovx did. A lost STT segment leaves
# its frame incomplete on the receiver, which must count it (reassembly).
underlay_lost() {
	{
		topo_host_exec h1 ip -j -s link show eth1
		topo_host_exec h2 ip -j -s link show eth1
		ip -n "$TOPO_UNDERLAY_NS" -j -s link show
	} | /usr/bin/python3 -c '
import json, sys
n = 0
for line in sys.stdin:
    for l in json.loads(line):
        s = l.get("stats64", {})
        n += s.get("tx", {}).get("dropped", 0)
print(n)'
}

FAILED=()
RESULTS=()

# iperf_run WHAT: iperf3 TCP b1 -> b2 for SECS; GBPS, then H1 and H2, the
# hosts' seg_stats after it. No throughput fails WHAT.
iperf_run() {
	topo_iperf_server b2 || e2e_fail "iperf3 server on b2 did not start"
	GBPS=$(topo_iperf_client b1 "$(topo_vm_ip b2)" "$SECS") || GBPS="failed ($GBPS)"
	H1=$(seg_stats h1) H2=$(seg_stats h2)
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('$GBPS') > 0 else 1)" 2>/dev/null ||
		FAILED+=("$1: iperf3 throughput $GBPS Gbit/s, want > 0")
}

# tso_run FAMILY: iperf3 with TSO frames over STT; records the numbers and
# the failed checks.
tso_run() {
	local family=$1 rx tx segs reas drops1 drops2 unassigned
	e2e_build_topology "ovx ovx" "blue:4294972297:stt:$family"
	e2e_apply_all
	e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
	e2e_info "b1 eth0: $(topo_vm_exec b1 ethtool -k eth0 | grep -E '^(tcp-segmentation-offload|generic-segmentation-offload):' | tr -s ' \n' ' ')"
	e2e_step "STT/IPv$family: iperf3 TCP ${SECS}s b1 -> b2 with TSO frames"
	iperf_run "IPv$family"
	read -r _ tx segs _ drops1 <<<"$H1"
	read -r rx _ _ reas drops2 <<<"$H2"
	unassigned=$(unassigned_drops h2)
	e2e_info "iperf3: $GBPS Gbit/s"
	topo_host_exec h1 ip -br link show | grep '^ovxseg' >/dev/null ||
		FAILED+=("IPv$family: no segmenter (ovxseg*) on h1 while an STT segment exists")
	e2e_info "h1 (sender):   tx_packets=$tx stt_segments=$segs drops=$drops1"
	e2e_info "h2 (receiver): rx_packets=$rx stt_reassembled=$reas drops=$drops2 unassigned_drops=$unassigned"
	RESULTS+=("STT/IPv$family TSO: iperf3 $GBPS Gbit/s; h1 tx_packets=$tx stt_segments=$segs drops=$drops1; h2 rx_packets=$rx stt_reassembled=$reas drops=$drops2 unassigned=$unassigned")
	((${segs:-0} > 0)) || FAILED+=("IPv$family: h1 stt_segments=${segs:-?}, want > 0")
	[[ $drops1 == - && $drops2 == - && $unassigned == - ]] ||
		FAILED+=("IPv$family: drops on h1 '$drops1', on h2 '$drops2' (unassigned '$unassigned'), want none")
	jumbo_run "$family"
}

# jumbo_run FAMILY: VMs with a 4000-byte MTU over the 1500-byte underlay,
# which only STT can carry: every frame above one segment leaves in
# several STT segments and h2 rebuilds it. DF pings of 3500 bytes both
# ways, then iperf3, whose TSO frames the segmenter cuts to the VMs' MSS
# (~3950 bytes), each again sent in STT segments.
jumbo_run() {
	local family=$1 vm segs0 segs reas0 reas tx drops1 drops2 unassigned lost other incomplete n
	for vm in b1 b2; do
		topo_vm_exec "$vm" ip link set eth0 mtu 4000
		topo_host_exec "$(topo_vm_host "$vm")" ip link set "$(topo_vm_port "$vm")" mtu 4000
	done
	read -r _ _ segs0 _ _ <<<"$(seg_stats h1)"
	read -r _ _ _ reas0 _ <<<"$(seg_stats h2)"
	e2e_step "STT/IPv$family: 3500-byte DF pings between VMs of MTU 4000 on a 1500 underlay"
	for vm in b1 b2; do
		local peer=b2 got
		[[ $vm == b2 ]] && peer=b1
		got=$(topo_vm_exec "$vm" ping -n -q -M do -s 3500 -c 3 -i 0.2 -W 1 "$(topo_vm_ip "$peer")" 2>&1 |
			sed -n 's/.* \([0-9]\+\) received.*/\1/p')
		((${got:-0} >= 2)) || FAILED+=("IPv$family jumbo: $vm -> $peer: ${got:-0}/3 replies to 3500-byte DF pings")
		e2e_info "$vm -> $peer: ${got:-0}/3 replies to 3500-byte DF pings"
	done
	read -r _ _ segs _ _ <<<"$(seg_stats h1)"
	read -r _ _ _ reas _ <<<"$(seg_stats h2)"
	((segs - segs0 >= 6)) || FAILED+=("IPv$family jumbo: h1 stt_segments +$((segs - segs0)), want >= 6 (3 pings, 3 segments each)")
	((reas - reas0 >= 3)) || FAILED+=("IPv$family jumbo: h2 stt_reassembled +$((reas - reas0)), want >= 3")
	e2e_step "STT/IPv$family: iperf3 TCP ${SECS}s b1 -> b2, VM MTU 4000 with TSO"
	lost=$(underlay_lost)
	iperf_run "IPv$family jumbo"
	lost=$(($(underlay_lost) - lost))
	read -r _ tx segs _ drops1 <<<"$H1"
	read -r _ _ _ reas drops2 <<<"$H2"
	e2e_info "iperf3: $GBPS Gbit/s; h1 stt_segments=$segs; h2 stt_reassembled=$reas"
	RESULTS+=("STT/IPv$family VM MTU 4000: iperf3 $GBPS Gbit/s; h1 tx_packets=$tx stt_segments=$segs drops=$drops1; h2 stt_reassembled=$reas drops=$drops2")
	[[ $drops1 == - ]] || FAILED+=("IPv$family jumbo: drops on h1 '$drops1', want none")
	# One stream's frames in flight together (over the receive queues)
	# share their sender's slot group and must all find a slot: no
	# map_full, and no reassembly loss but for segments the underlay lost.
	# Each segment the underlay loses leaves its frame holding a slot for
	# OVX_STT_TIMEOUT_MS (250 ms, some 20,000 frames of this stream): once
	# half of the group's 16 slots can be held so, a full group (map_full)
	# is the underlay's loss showing, not frames in flight evicting or
	# shutting out one another, and is accepted then.
	unassigned=$(unassigned_drops h2)
	e2e_info "h2: drops '$drops2', unassigned '$unassigned'; the underlay dropped $lost packets"
	local accept='^reassembly:\|^-$'
	((lost >= 8)) && accept+='\|^map_full:'
	other=$(tr ',' '\n' <<<"$drops2,$unassigned" | grep -v "$accept")
	incomplete=0
	for n in $(tr ',' '\n' <<<"$drops2,$unassigned" | sed -n 's/^reassembly://p'); do
		incomplete=$((incomplete + n))
	done
	[[ -z $other ]] && ((incomplete <= lost)) ||
		FAILED+=("IPv$family jumbo: drops on h2 '$drops2' (unassigned '$unassigned') over $reas reassembled frames with $lost packets lost in the underlay, want none but reassembly up to the underlay's loss (and map_full once it lost 8 or more)")
}

e2e_init test_encap_stt_tso "STT with the VMs' TSO: frames cut by the segmenter, over IPv4 and IPv6"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
tso_run 4
e2e_next_topology
tso_run 6
ovx_down h1 >/dev/null 2>&1 || FAILED+=("ovx down on h1 failed")
if topo_host_exec h1 ip -br link show | grep '^ovxseg' >/dev/null; then
	FAILED+=("the segmenter outlived ovx down on h1")
fi
echo
for r in "${RESULTS[@]}"; do echo "    RESULT: $r"; done
if ((${#FAILED[@]})); then
	printf '    failed: %s\n' "${FAILED[@]}" >&2
	e2e_fail "STT with TSO frames (see RESULT lines)"
fi
e2e_pass
