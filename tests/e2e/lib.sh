# shellcheck shell=bash
#
# lib.sh - shared by the ovx end-to-end tests (sourced).
#
# Each test: e2e_init NAME "what it checks"; build a topology
# (e2e_build_topology or topo_* directly); steps with e2e_step, checks that
# call e2e_fail on error; e2e_pass at the end. Cleanup (ovx down, processes,
# namespaces) runs from the EXIT/INT/TERM trap whatever happens; a test whose
# cleanup leaves anything behind fails.
#
# Environment: OVX (binary, default build/ovx), E2E_KEEP_DIR=1 keeps the
# work directory (configs, captures, iperf JSON) even when the test passes.

[[ -n ${_OVX_E2E_LIB_SH:-} ]] && return 0
_OVX_E2E_LIB_SH=1

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../../scripts/lib/ovx.sh
source "$E2E_LIB_DIR/../../scripts/lib/ovx.sh"

E2E_NAME=""
E2E_PASSED=0
E2E_START=$SECONDS

e2e_step() { printf '\n--> %s\n' "$*"; }
e2e_info() { printf '    %s\n' "$*"; }
e2e_ok() { printf '    ok: %s\n' "$*"; }
e2e_fail() {
	printf '\nFAIL: %s: %s\n' "$E2E_NAME" "$*" >&2
	exit 1
}

# e2e_init NAME DESCRIPTION: checks prerequisites, starts the run, installs
# the traps.
e2e_init() {
	E2E_NAME=$1
	E2E_START=$SECONDS
	printf '=== %s: %s\n' "$1" "$2"
	[[ $(id -u) -eq 0 ]] || { echo "FAIL: $1: must run as root" >&2; exit 1; }
	ovx_require
	topo_init
	trap '_e2e_exit_trap' EXIT
	trap 'trap - INT; echo "interrupted" >&2; exit 130' INT
	trap 'trap - TERM; echo "terminated" >&2; exit 143' TERM
	printf '    run %s (namespaces %s-*), ovx %s\n' "$TOPO_ID" "$TOPO_PREFIX" "$OVX"
}

_e2e_exit_trap() {
	local rc=$?
	trap - EXIT INT TERM
	if ((rc != 0)) || ((!E2E_PASSED)); then
		((rc != 0)) || rc=1
		TOPO_KEEP_DIR=1
		echo
		echo "---- state at failure ----"
		ovx_dump_state 2>&1 | sed 's/^/    /'
	fi
	[[ ${E2E_KEEP_DIR:-0} == 1 ]] && TOPO_KEEP_DIR=1
	echo
	echo "--> cleanup"
	if topo_cleanup; then
		e2e_ok "ovx down, no namespace or pin of run $TOPO_ID left"
	else
		echo "FAIL: $E2E_NAME: cleanup left something behind (see above)" >&2
		((rc != 0)) || rc=1
	fi
	if ((rc == 0)); then
		printf '\nPASS: %s (%ds)\n' "$E2E_NAME" $((SECONDS - E2E_START))
	else
		printf '\nFAIL: %s (exit %d, %ds)\n' "$E2E_NAME" "$rc" $((SECONDS - E2E_START)) >&2
	fi
	exit "$rc"
}

# e2e_pass: the test body is done; the exit trap cleans up and reports.
e2e_pass() {
	E2E_PASSED=1
	exit 0
}

# e2e_build_topology "KIND..." "TENANT:ID[:ENCAP[:FAMILY]][@H1,H2]..." : host
# hI (I = 1..) of each KIND (ovx | kernel) at 192.168.77.I and/or
# fd00:77::I (the families the tenants use; both when they use both); on each
# host one VM per tenant named <first letter of tenant><I> (b1, r1, ...) with
# MAC 02:00:00:00:0I:01 and IP 10.0.0.I/24, the same in every tenant
# (overlapping on purpose). ENCAP (default vxlan) and FAMILY (4 or 6,
# default 4) are the tenant's encapsulation and underlay family; @H1,H2 puts
# that tenant's VMs on those hosts only. Then topo_finalize (configs, kernel
# flood lists), underlay check, summary.
e2e_build_topology() {
	local kinds tenants i spec tenant vni only rest encap family v4=0 v6=0 addrs
	read -ra kinds <<<"$1"
	read -ra tenants <<<"$2"
	e2e_step "topology: ${#kinds[@]} hosts (${kinds[*]}), tenants ${tenants[*]}"
	topo_add_underlay
	for spec in "${tenants[@]}"; do
		rest=${spec%%@*}
		IFS=: read -r tenant vni encap family <<<"$rest"
		topo_add_tenant "$tenant" "$vni"
		topo_set_tenant_encap "$tenant" "${encap:-vxlan}" "${family:-4}"
		[[ ${family:-4} == 4 ]] && v4=1 || v6=1
	done
	for ((i = 1; i <= ${#kinds[@]}; i++)); do
		addrs=""
		((v4)) && addrs="192.168.77.$i"
		((v6)) && addrs+="${addrs:+,}fd00:77::$i"
		topo_add_host "h$i" "$addrs" "${kinds[i - 1]}"
	done
	for ((i = 1; i <= ${#kinds[@]}; i++)); do
		for spec in "${tenants[@]}"; do
			tenant=${spec%%:*}
			only=""
			[[ $spec == *@* ]] && only=",${spec#*@},"
			[[ -z $only || $only == *",h$i,"* ]] || continue
			topo_add_vm "h$i" "${tenant:0:1}$i" "$tenant" \
				"$(printf '02:00:00:00:%02x:01' "$i")" "10.0.0.$i/24"
		done
	done
	topo_finalize
	topo_check_underlay || e2e_fail "the underlay itself does not work"
	e2e_ok "underlay: every host reaches every other host"
	topo_summary
}

# e2e_next_topology: tears the current topology down (ovx down, namespaces;
# fails the test when anything is left) and starts a new run id, for tests
# that build several topologies one after the other.
e2e_next_topology() {
	e2e_step "cleanup of run $TOPO_ID"
	topo_cleanup || e2e_fail "cleanup of run $TOPO_ID left something behind (see above)"
	e2e_ok "no namespace or pin of run $TOPO_ID left"
	topo_init
	printf '    run %s (namespaces %s-*)\n' "$TOPO_ID" "$TOPO_PREFIX"
}

# e2e_capture_underlay_start NAME HOST [FILTER...]: tcpdump on HOST's port of
# the underlay bridge (every frame HOST sends or receives on eth1), outside
# HOST's namespace so that XDP on eth1 hides nothing.
e2e_capture_underlay_start() {
	local name=$1 host=$2
	shift 2
	topo_capture_start "$name" "$TOPO_UNDERLAY_NS" "$host" "$@" ||
		e2e_fail "cannot capture on the underlay port of $host"
}

# e2e_tshark NAME FILTER FIELD...: tshark's dissection of capture NAME: one
# line per frame matching the display FILTER, FIELDs tab-separated (several
# occurrences of a field, e.g. outer and inner eth.src, comma-separated).
# E2E_TSHARK_OPTS: more tshark options (an array).
E2E_TSHARK_OPTS=()
e2e_tshark() {
	local name=$1 filter=$2 file args=() f
	shift 2
	file=${TOPO_CAP_FILE[$name]:-}
	[[ -f $file ]] || e2e_fail "no capture file for $name"
	for f in "$@"; do args+=(-e "$f"); done
	# tshark warns about running as root on stderr; its real errors show as
	# an empty result the caller checks.
	tshark -n -r "$file" "${E2E_TSHARK_OPTS[@]}" -Y "$filter" -T fields -E separator=/t -E occurrence=a \
		-E aggregator=, "${args[@]}" 2>/dev/null
}

# e2e_apply_all: ovx apply on every ovx host, failing the test on error.
e2e_apply_all() {
	local h
	e2e_step "ovx apply on $(topo_hosts ovx | tr '\n' ' ')"
	for h in $(topo_hosts ovx); do
		ovx_apply "$h" || e2e_fail "ovx apply on $h: exit $OVX_RC: $OVX_OUT"
		e2e_ok "$h: applied $(topo_config_file "$h")"
	done
}

# e2e_expect_ping VM DST [COUNT] [MIN]: at least MIN (default: all but one,
# at least 1) of COUNT (default 5) pings answered.
e2e_expect_ping() {
	local vm=$1 dst=$2 count=${3:-5} min=${4:-} got
	[[ -n $min ]] || { min=$((count - 1)); ((min >= 1)) || min=1; }
	got=$(topo_ping_received "$vm" "$dst" "$count")
	if ((got < min)); then
		e2e_fail "$vm ($(topo_vm_tenant "$vm")) -> $dst: $got/$count replies, want >= $min"
	fi
	e2e_ok "$vm ($(topo_vm_tenant "$vm"), $(topo_vm_host "$vm")) -> $dst: $got/$count replies"
}

# e2e_expect_no_ping VM DST [COUNT]: no reply at all.
e2e_expect_no_ping() {
	local vm=$1 dst=$2 count=${3:-3} got
	got=$(topo_ping_received "$vm" "$dst" "$count")
	((got == 0)) || e2e_fail "$vm ($(topo_vm_tenant "$vm")) -> $dst: $got replies, want none"
	e2e_ok "$vm ($(topo_vm_tenant "$vm")) -> $dst: no reply, as expected"
}

# e2e_expect_arp VM PEER_VM: VM resolved PEER_VM's IP to PEER_VM's MAC.
e2e_expect_arp() {
	local vm=$1 peer=$2 ip mac got
	ip=$(topo_vm_ip "$peer")
	mac=$(topo_vm_mac "$peer")
	got=$(topo_neigh_mac "$vm" "$ip")
	[[ ${got,,} == "$mac" ]] || e2e_fail "$vm: ARP for $ip is '${got:-none}', want $mac ($peer)"
	e2e_ok "$vm: ARP resolved $ip -> $mac ($peer)"
}

# e2e_expect_capture_empty NAME WHAT [FILTER...]: the capture has no frame
# (matching FILTER); prints the first ones otherwise.
e2e_expect_capture_empty() {
	local name=$1 what=$2 n
	shift 2
	n=$(topo_capture_count "$name" "$@")
	if ((n != 0)); then
		topo_capture_print "$name" 10
		e2e_fail "$what: $n frame(s) captured in $name, want 0"
	fi
	e2e_ok "$what: 0 frames in capture $name"
}

# e2e_stat VAR HOST SEGMENT FIELD: sets VAR to a counter from ovx stats
# --json (fails the test when the field cannot be read).
e2e_stat() {
	local -n _e2e_var=$1
	local v
	v=$(ovx_stat "$2" "$3" "$4" 2>&1) || e2e_fail "ovx stats --json on $2: $4 of $3: $v"
	[[ $v =~ ^[0-9]+$ ]] || e2e_fail "ovx stats --json on $2: $4 of $3 is '$v', not a number"
	_e2e_var=$v
}

# e2e_print_seg_stats HOST SEGMENT: one summary line.
e2e_print_seg_stats() {
	local json line
	json=$(ovx_stats_json "$1" 2>&1) || { e2e_info "$1 $2: ovx stats --json failed: $json"; return 0; }
	line=$(ovx_json_seg_summary "$2" <<<"$json" 2>&1)
	e2e_info "$1 $2: $line"
}

# e2e_expect_no_ping_loss FILE COUNT: FILE holds the output of `ping -q -c
# COUNT`; every ping must have been answered, the slowest within 100 ms (a
# forwarding gap drops pings, for XDP and TC queue nothing; a hiccup that
# only delayed them shows in the slowest round trip). Sets E2E_PING_RESULT.
e2e_expect_no_ping_loss() {
	local out sent got rtt_max
	out=$(cat "$1")
	sent=$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' <<<"$out")
	got=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out")
	[[ -n $sent && -n $got ]] || e2e_fail "no ping summary: $out"
	((sent == $2 && got == sent)) || e2e_fail "ping: $got of $sent replies ($((sent - got)) lost), want all $2"
	rtt_max=$(sed -n 's|^rtt min/avg/max/mdev = [^/]*/[^/]*/\([0-9.]*\)/.*|\1|p' <<<"$out")
	/usr/bin/python3 -c "import sys; sys.exit(0 if float('${rtt_max:-1e9}') < 100 else 1)" ||
		e2e_fail "ping: slowest round trip ${rtt_max:-?} ms, want < 100 ms"
	E2E_PING_RESULT="ping $got/$sent answered (0 lost), slowest $rtt_max ms"
	e2e_ok "$E2E_PING_RESULT"
}

# e2e_expect_no_stall JSON RATE: JSON is `iperf3 -J -i 0.1 -b RATE`; no 0.1 s
# interval may carry less than half of RATE. A stall of 100 ms or more
# empties one interval or takes half of one (it spans two at most); a
# catch-up burst can hide the latter, so this is the floor of what is
# checked. Sets E2E_IPERF_RESULT.
e2e_expect_no_stall() {
	local report n low when slowest avg
	report=$(/usr/bin/python3 - "$1" "$(numfmt --from=si "$2")" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
if r.get("error"):
    sys.exit("iperf3: " + r["error"])
iv = [i["sum"] for i in r["intervals"]]
if len(iv) < 10:
    sys.exit("only %d intervals" % len(iv))
half = float(sys.argv[2]) / 10 / 2
low = ["%.1f-%.1fs" % (s["start"], s["end"]) for s in iv if s["bytes"] * 8 < half]
slowest = min(s["bits_per_second"] for s in iv)
print(len(iv), len(low), ",".join(low) or "-", "%.2f" % (slowest / 1e9),
      "%.2f" % (r["end"]["sum_received"]["bits_per_second"] / 1e9))
PY
	) || e2e_fail "iperf3 report: $report"
	read -r n low when slowest avg <<<"$report"
	((low == 0)) || e2e_fail "iperf3: $low of $n intervals (0.1 s) below half of $2: $when"
	E2E_IPERF_RESULT="iperf3 $avg Gbit/s, none of $n 0.1 s intervals below half of $2 (slowest $slowest Gbit/s)"
	e2e_ok "$E2E_IPERF_RESULT"
}
