#!/usr/bin/env bash
# soak.sh [--minutes N] [--json]: ovx under everything at once, for N minutes
# (default $SOAK_MINUTES or 30), in network namespaces (scripts/lib/topology.sh
# through tests/e2e/lib.sh). Not part of ctest: the lead runs it by hand.
#
# Topology: ovx hosts h1, h2, h3 and a kernel VXLAN host h4; tenant blue
# (VXLAN, b1..b4) on all four, tenant red (STT, r1..r3, the same MACs and IPs
# as blue's VMs) on h1..h3.
#   h1: agent -f FILE, killed (-9 and TERM in turn) and restarted every
#       $SOAK_RESTART_SECS (120) seconds;
#   h2: agent -f FILE, never restarted (its memory is watched);
#   h3: no agent, `ovx --wait apply -f FILE` every second.
# Every second each host's desired state changes a little (a static remote
# comes and goes, a new MAC each time): the agents see their file change, h3
# applies. Meanwhile:
#   - stable traffic: ping every 10 ms b1->b2, b3->b1, b2->b4 (kernel host),
#     r1->r3, r2->r1; iperf3 b3->b2 paced at $SOAK_IPERF_RATE (20M);
#   - learning churn: b4 (behind the kernel VTEP, whose bridge forwards any
#     MAC) sends broadcasts from $SOAK_CHURN_MACS (10) new source MACs a
#     second, learned by the ovx hosts and aged out after $SOAK_AGING (15) s.
# At the end (churn stopped, the base state applied, one aging period
# waited) it checks, and fails (exit 1) unless:
#   - no ping between stable endpoints was lost;
#   - no apply failed and every agent restart applied;
#   - h2's agent (never restarted) did not grow: RSS at the end within
#     max(2 MiB, 5%) of its RSS once the churn ran, open fds the same;
#   - no MAC of the churn is left in any FDB, FDB entries are no more than
#     before the churn, STT reassembly slots in use are back to what they were.
# It prints a short report; --json prints it as one JSON object on stdout
# (everything else then goes to stderr).
set -uo pipefail

JSON=0
MINUTES=${SOAK_MINUTES:-30}
while (($#)); do
	case $1 in
	--json) JSON=1 ;;
	--minutes) MINUTES=${2:?--minutes N}; shift ;;
	-h | --help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) echo "soak.sh: unknown argument '$1' (--minutes N, --json)" >&2; exit 1 ;;
	esac
	shift
done
[[ $MINUTES =~ ^[0-9]+$ ]] && ((MINUTES > 0)) || { echo "soak.sh: bad minutes '$MINUTES'" >&2; exit 1; }
AGING=${SOAK_AGING:-15}
RESTART_SECS=${SOAK_RESTART_SECS:-120}
IPERF_RATE=${SOAK_IPERF_RATE:-20M}
CHURN_MACS=${SOAK_CHURN_MACS:-10}
SOAK_SECS=$((MINUTES * 60))
SETTLE=$((AGING + 10)) # after the churn: aging, the agents' tick, an apply
# Past the final measurements, so that stable entries stay alive through them.
TRAFFIC_SECS=$((SOAK_SECS + SETTLE + 60))

# The report goes to fd 3: stdout, or (--json) stdout alone.
if ((JSON)); then exec 3>&1 1>&2; else exec 3>&1; fi

source "$(dirname "${BASH_SOURCE[0]}")/../tests/e2e/lib.sh"
# The agents tick every second: reconciles, and reclaims of aged entries, at once.
AGENT_ARGS=(--interval 1)

e2e_init soak "$MINUTES min: traffic, learning churn, an apply a second, agent restarts"
command -v iperf3 >/dev/null || e2e_fail "iperf3 not installed"
e2e_build_topology "ovx ovx ovx kernel" "blue:5001 red:5002:stt@h1,h2,h3"

# --- desired states ---------------------------------------------------------------
# base/HOST.yaml: the topology's config with a short aging; the live file
# (topo_config_file) is what the agent follows or h3 applies.
mkdir -p "$TOPO_DIR/base"
for h in h1 h2 h3; do
	sed "s/^    learning: true\$/    learning: true\n    aging: $AGING/" "$(topo_config_file "$h")" \
		>"$TOPO_DIR/base/$h.yaml" || e2e_fail "cannot write the base config of $h"
	grep -q "aging: $AGING" "$TOPO_DIR/base/$h.yaml" || e2e_fail "no aging in $h's config"
	cp "$TOPO_DIR/base/$h.yaml" "$(topo_config_file "$h")"
done

# write_state HOST N: the base state, plus (N odd) a static remote in blue
# with a MAC of its own (02:00:00:ee:HH:LL from N) behind the next host;
# replaced in one rename, as an editor would.
write_state() {
	local host=$1 n=$2 file tmp peer
	file=$(topo_config_file "$host")
	tmp="$file.tmp"
	if ((n % 2)); then
		case $host in h1) peer=h2 ;; h2) peer=h3 ;; *) peer=h1 ;; esac
		awk -v mac="$(printf '02:00:00:ee:%02x:%02x' $(((n >> 8) & 255)) $((n & 255)))" \
			-v vtep="$(topo_tenant_vtep blue "$peer")" '
			{ print }
			/^    tenant: blue$/ { printf "    remotes:\n      - {mac: \"%s\", vtep: %s}\n", mac, vtep }
		' "$TOPO_DIR/base/$host.yaml" >"$tmp"
	else
		cp "$TOPO_DIR/base/$host.yaml" "$tmp"
	fi
	mv "$tmp" "$file"
}

APPLIES=0 APPLY_FAILS=0 RESTARTS=0 RESTART_FAILS=0
apply_h3() {
	APPLIES=$((APPLIES + 1))
	if ! ovx_run h3 --wait apply -f "$(topo_config_file h3)"; then
		APPLY_FAILS=$((APPLY_FAILS + 1))
		e2e_info "apply on h3 failed (exit $OVX_RC): $(tail -2 <<<"$OVX_OUT")"
	fi
}

e2e_step "agents on h1 and h2, ovx apply on h3"
for h in h1 h2; do
	ovx_agent_start "$h" "$(topo_config_file "$h")" "${AGENT_ARGS[@]}" ||
		e2e_fail "agent on $h did not apply: $(tail -5 "$(ovx_agent_log "$h")")"
done
_ovx_mark_applied h3
apply_h3
((APPLY_FAILS == 0)) || e2e_fail "the first apply on h3 failed"
PAIRS=("b1 b2" "b3 b1" "b2 b4" "r1 r3" "r2 r1")
for p in "${PAIRS[@]}"; do
	read -r a b <<<"$p"
	e2e_expect_ping "$a" "$(topo_vm_ip "$b")" 3
done

# --- measurements ---------------------------------------------------------------
# fdb_entries HOST: FDB entries of the instance (ovx stats --json, maps).
fdb_entries() {
	ovx_stats_json "$1" | /usr/bin/python3 -c '
import json, sys
print(next(m["entries"] for m in json.load(sys.stdin)["maps"] if m["name"] == "ovx_fdb"))'
}
# churn_entries HOST: FDB entries of the churn's MACs (02:cc:...), ovx show --json.
churn_entries() {
	ovx_show_json "$1" | /usr/bin/python3 -c '
import json, sys
print(sum(str(e.get(sys.argv[1], "")).lower().startswith("02:cc:") for e in json.load(sys.stdin).get(sys.argv[2], [])))
' "$OVX_JSON_FDB_MAC" "$OVX_JSON_FDB"
}

# stt_slots HOST: STT reassembly slots in use (owner != 0) in the pinned
# ovx_stt_slots, read with the bpf syscall (its entries are 64 KiB each:
# too much for bpftool's dump).
stt_slots() {
	/usr/bin/python3 - "$(ovx_pin_dir "$1")/ovx_stt_slots" <<'EOF'
import ctypes, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_BPF, OBJ_GET, LOOKUP, INFO = 321, 7, 1, 15
def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, 128)
    if r < 0:
        sys.exit("bpf(%d): errno %d" % (cmd, ctypes.get_errno()))
    return r
path = ctypes.create_string_buffer(sys.argv[1].encode())
fd = bpf(OBJ_GET, struct.pack("=QII", ctypes.addressof(path), 0, 0))
info = ctypes.create_string_buffer(128)
bpf(INFO, struct.pack("=IIQ", fd, 128, ctypes.addressof(info)))
_, _, _, value_size, max_entries = struct.unpack_from("=IIIII", info.raw)
value = ctypes.create_string_buffer(value_size)
key = ctypes.c_uint32()
used = 0
for i in range(max_entries):
    key.value = i
    bpf(LOOKUP, struct.pack("=IIQQQ", fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0))
    used += struct.unpack_from("=Q", value.raw)[0] != 0
print(used)
EOF
}

# proc_rss PID: resident KiB. proc_fds PID: open descriptors, the fewest of
# 5 looks 0.2 s apart (a reconcile holds a program fd per BPF program on the
# machine while it runs).
proc_rss() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
proc_fds() {
	local i n min=
	for ((i = 0; i < 5; i++)); do
		n=$(find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
		[[ -z $min ]] || ((n < min)) && min=$n
		sleep 0.2
	done
	echo "$min"
}
# proc_fd_kinds PID: its descriptors by what they are ("12 anon_inode:bpf-map, ...").
proc_fd_kinds() {
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
		sed 's/:\[[0-9]*\]$//; s|^/.*|file|' | sort | uniq -c | sort -rn |
		awk '{printf "%s%d %s", (NR > 1 ? ", " : ""), $1, $2}'
}

# --- traffic --------------------------------------------------------------------
e2e_step "stable traffic for ${TRAFFIC_SECS}s: ping -i 0.01 on ${#PAIRS[@]} pairs, iperf3 -b $IPERF_RATE b3 -> b2"
PING_COUNT=$((TRAFFIC_SECS * 100))
for p in "${PAIRS[@]}"; do
	read -r a b <<<"$p"
	topo_bg "ping-$a-$b" "$(topo_vm_ns "$a")" ping -n -q -i 0.01 -c "$PING_COUNT" -W 1 "$(topo_vm_ip "$b")"
done
TRAFFIC_START=$SECONDS
topo_iperf_server b2 || e2e_fail "iperf3 server on b2 did not start"
topo_bg iperf "$(topo_vm_ns b3)" iperf3 -c "$(topo_vm_ip b2)" -t "$TRAFFIC_SECS" -b "$IPERF_RATE" \
	-J --connect-timeout 3000
sleep 5

declare -A FDB_BASE=() SLOTS_BASE=() FDB_END=() SLOTS_END=() FDB_MAX=() CHURN_END=()
for h in h1 h2 h3; do
	FDB_BASE[$h]=$(fdb_entries "$h") || e2e_fail "ovx stats on $h"
	SLOTS_BASE[$h]=$(stt_slots "$h") || e2e_fail "cannot read $h's STT slots"
	FDB_MAX[$h]=${FDB_BASE[$h]}
done
e2e_ok "baseline: FDB entries h1=${FDB_BASE[h1]} h2=${FDB_BASE[h2]} h3=${FDB_BASE[h3]}," \
	"STT slots in use h1=${SLOTS_BASE[h1]} h2=${SLOTS_BASE[h2]} h3=${SLOTS_BASE[h3]}"

e2e_step "learning churn: $CHURN_MACS new MACs a second from b4 for ${SOAK_SECS}s"
# (A file: topo_bg gives its command /dev/null as stdin.)
cat >"$TOPO_DIR/churn.py" <<'EOF'
import os, socket, sys, time
rate, secs = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
end = time.monotonic() + secs
sent = 0
while time.monotonic() < end:
    t = time.monotonic()
    for _ in range(rate):
        src = b"\x02\xcc" + os.urandom(4)
        # Broadcast, IEEE local experimental ethertype: flooded, learned, ignored.
        s.send(b"\xff" * 6 + src + b"\x88\xb5" + b"ovx soak churn".ljust(46, b"\0"))
        sent += 1
    time.sleep(max(0, 1 - (time.monotonic() - t)))
print("sent", sent)
EOF
topo_bg churn "$(topo_vm_ns b4)" /usr/bin/python3 "$TOPO_DIR/churn.py" "$CHURN_MACS" "$SOAK_SECS"

# --- the soak -------------------------------------------------------------------
e2e_step "soak: ${SOAK_SECS}s of changes every second, h1's agent restarted every ${RESTART_SECS}s"
RSS_H2_FIRST="" FDS_H2_FIRST="" RSS_H2_MAX=0 RSS_H1_MAX=0
start=$SECONDS next_restart=$RESTART_SECS n=0 sig=KILL
while ((SECONDS - start < SOAK_SECS)); do
	tick=$SECONDS
	n=$((n + 1))
	for h in h1 h2 h3; do write_state "$h" "$n"; done
	apply_h3
	if ((SECONDS - start >= next_restart)); then
		next_restart=$((next_restart + RESTART_SECS))
		RESTARTS=$((RESTARTS + 1))
		ovx_agent_stop h1 "$sig"
		if ovx_agent_start h1 "$(topo_config_file h1)" "${AGENT_ARGS[@]}"; then
			e2e_info "$((SECONDS - start))s: h1's agent stopped ($sig) and restarted"
		else
			RESTART_FAILS=$((RESTART_FAILS + 1))
			e2e_info "$((SECONDS - start))s: h1's agent did not come back: $(tail -2 "$(ovx_agent_log h1)")"
		fi
		[[ $sig == KILL ]] && sig=TERM || sig=KILL
	fi
	if ((n % 10 == 0)); then
		rss2=$(proc_rss "$(ovx_agent_pid h2)") rss1=$(proc_rss "$(ovx_agent_pid h1)")
		((rss2 > RSS_H2_MAX)) && RSS_H2_MAX=$rss2
		((rss1 > RSS_H1_MAX)) && RSS_H1_MAX=$rss1
		# h2's reference: once the churn has filled the FDB (two aging periods).
		if [[ -z $RSS_H2_FIRST ]] && ((SECONDS - start >= 2 * AGING || SOAK_SECS < 4 * AGING)); then
			RSS_H2_FIRST=$rss2
			FDS_H2_FIRST=$(proc_fds "$(ovx_agent_pid h2)")
			e2e_info "h2's agent: $RSS_H2_FIRST KiB, fds: $(proc_fd_kinds "$(ovx_agent_pid h2)")"
		fi
		for h in h1 h2 h3; do
			f=$(fdb_entries "$h") && ((f > FDB_MAX[$h])) && FDB_MAX[$h]=$f
		done
		if ((n % 60 == 0)); then
			e2e_info "$((SECONDS - start))s: $APPLIES applies ($APPLY_FAILS failed), $RESTARTS restarts," \
				"FDB h1=$(fdb_entries h1) h2=$(fdb_entries h2) h3=$(fdb_entries h3), agent RSS h1=${rss1} KiB h2=${rss2} KiB"
		fi
	fi
	((SECONDS - tick >= 1)) || sleep 1
done
e2e_ok "$n rounds of changes, $APPLIES applies on h3 ($APPLY_FAILS failed), $RESTARTS agent restarts ($RESTART_FAILS failed)"

e2e_step "settle: churn over, base state everywhere, ${SETTLE}s for the learned MACs to age out"
wait "$(topo_bg_pid churn)"
CHURN_SENT=$(sed -n 's/^sent //p' "$(topo_bg_out churn)")
for h in h1 h2 h3; do cp "$TOPO_DIR/base/$h.yaml" "$(topo_config_file "$h")"; done
sleep "$SETTLE"
apply_h3 # h3 has no agent: its apply reclaims what aged
sleep 2
for h in h1 h2 h3; do
	FDB_END[$h]=$(fdb_entries "$h") || e2e_fail "ovx stats on $h"
	CHURN_END[$h]=$(churn_entries "$h") || e2e_fail "ovx show on $h"
	SLOTS_END[$h]=$(stt_slots "$h") || e2e_fail "cannot read $h's STT slots"
done
RSS_H2_END=$(proc_rss "$(ovx_agent_pid h2)")
FDS_H2_END=$(proc_fds "$(ovx_agent_pid h2)")
FDS_H2_KINDS=$(proc_fd_kinds "$(ovx_agent_pid h2)")
RSS_H1_END=$(proc_rss "$(ovx_agent_pid h1)")
[[ -n $RSS_H2_FIRST ]] || { RSS_H2_FIRST=$RSS_H2_END; FDS_H2_FIRST=$FDS_H2_END; }

e2e_step "results"
# ping's 10 ms timer runs slow under the soak's load and never catches up:
# a ping still running when the traffic time is over is interrupted (it
# prints its summary on SIGINT); its last probe may then be in flight.
declare -A INTERRUPTED=()
sleep $((TRAFFIC_START + TRAFFIC_SECS - SECONDS > 0 ? TRAFFIC_START + TRAFFIC_SECS - SECONDS : 0))
for p in "${PAIRS[@]}"; do
	read -r a b <<<"$p"
	pid=$(topo_bg_pid "ping-$a-$b")
	if kill -0 "$pid" 2>/dev/null; then
		kill -INT "$pid"
		INTERRUPTED[$a-$b]=1
	fi
	wait "$pid"
done
wait "$(topo_bg_pid iperf)"
PING_SENT=0 PING_LOST=0 PING_DETAIL="" PING_IN_FLIGHT=0
for p in "${PAIRS[@]}"; do
	read -r a b <<<"$p"
	out=$(cat "$(topo_bg_out "ping-$a-$b")")
	sent=$(sed -n 's/^\([0-9]\+\) packets transmitted.*/\1/p' <<<"$out")
	got=$(sed -n 's/.* \([0-9]\+\) received.*/\1/p' <<<"$out")
	[[ -n $sent && -n $got ]] || e2e_fail "no ping summary for $a -> $b: $out"
	# The one probe an interrupted ping may have had in flight is not lost.
	if [[ -n ${INTERRUPTED[$a-$b]:-} ]] && ((sent - got == 1)); then
		PING_IN_FLIGHT=$((PING_IN_FLIGHT + 1))
		sent=$((sent - 1))
	fi
	PING_SENT=$((PING_SENT + sent))
	PING_LOST=$((PING_LOST + sent - got))
	PING_DETAIL+="${PING_DETAIL:+, }$a->$b $((sent - got))/$sent"
done
IPERF=$(/usr/bin/python3 - "$(topo_bg_out iperf)" <<'EOF'
import json, sys
try:
    r = json.load(open(sys.argv[1]))
    s = r["end"]["sum_sent"]
    print("%.1f %d" % (r["end"]["sum_received"]["bits_per_second"] / 1e6, s.get("retransmits", 0)))
except Exception as e:
    print("0 -1")
EOF
)
read -r IPERF_MBPS IPERF_RETRANS <<<"$IPERF"

noise=$((RSS_H2_FIRST / 20))
((noise < 2048)) && noise=2048
RSS_GROWTH=$((RSS_H2_END - RSS_H2_FIRST))
FAILS=()
((PING_LOST == 0)) || FAILS+=("$PING_LOST pings lost ($PING_DETAIL)")
((APPLY_FAILS == 0)) || FAILS+=("$APPLY_FAILS of $APPLIES applies failed")
((RESTART_FAILS == 0)) || FAILS+=("$RESTART_FAILS of $RESTARTS agent restarts failed")
((RSS_GROWTH <= noise)) || FAILS+=("h2's agent grew by $RSS_GROWTH KiB (noise $noise KiB)")
((FDS_H2_END <= FDS_H2_FIRST)) || FAILS+=("h2's agent went from $FDS_H2_FIRST to $FDS_H2_END fds ($FDS_H2_KINDS)")
for h in h1 h2 h3; do
	# Stable endpoints' entries come and go with their ARP broadcasts (a VM
	# that only answers is learned only where its answers go): the churn's
	# must all be gone, and the total no higher than before.
	((CHURN_END[$h] == 0)) || FAILS+=("$h: ${CHURN_END[$h]} of the churn's MACs still in the FDB")
	((FDB_END[$h] <= FDB_BASE[$h])) || FAILS+=("$h: FDB ${FDB_BASE[$h]} -> ${FDB_END[$h]} entries")
	((SLOTS_END[$h] <= SLOTS_BASE[$h])) || FAILS+=("$h: STT slots ${SLOTS_BASE[$h]} -> ${SLOTS_END[$h]}")
done

{
	if ((JSON)); then
		/usr/bin/python3 - <<EOF
import json
print(json.dumps({
    "minutes": $MINUTES, "pass": ${#FAILS[@]} == 0,
    "pings": {"sent": $PING_SENT, "lost": $PING_LOST, "interval_ms": 10, "pairs": ${#PAIRS[@]}, "interrupted": ${#INTERRUPTED[@]}, "in_flight": $PING_IN_FLIGHT},
    "iperf3": {"rate": "$IPERF_RATE", "received_mbps": $IPERF_MBPS, "retransmits": $IPERF_RETRANS},
    "churn": {"macs_per_second": $CHURN_MACS, "frames_sent": ${CHURN_SENT:-0}, "aging_s": $AGING},
    "applies": {"h3": $APPLIES, "failed": $APPLY_FAILS, "rounds_of_changes": $n},
    "agent_restarts": {"h1": $RESTARTS, "failed": $RESTART_FAILS},
    "agent_rss_kib": {"h2_first": $RSS_H2_FIRST, "h2_end": $RSS_H2_END, "h2_max": $RSS_H2_MAX,
                      "h2_growth": $RSS_GROWTH, "noise": $noise, "h1_max": $RSS_H1_MAX, "h1_end": $RSS_H1_END},
    "agent_fds": {"h2_first": $FDS_H2_FIRST, "h2_end": $FDS_H2_END},
    "fdb_entries": {h: {"baseline": b, "max": m, "end": e, "churn_macs_end": c} for h, b, m, e, c in
                    [("h1", ${FDB_BASE[h1]}, ${FDB_MAX[h1]}, ${FDB_END[h1]}, ${CHURN_END[h1]}),
                     ("h2", ${FDB_BASE[h2]}, ${FDB_MAX[h2]}, ${FDB_END[h2]}, ${CHURN_END[h2]}),
                     ("h3", ${FDB_BASE[h3]}, ${FDB_MAX[h3]}, ${FDB_END[h3]}, ${CHURN_END[h3]})]},
    "stt_slots_in_use": {h: {"baseline": b, "end": e} for h, b, e in
                         [("h1", ${SLOTS_BASE[h1]}, ${SLOTS_END[h1]}), ("h2", ${SLOTS_BASE[h2]}, ${SLOTS_END[h2]}),
                          ("h3", ${SLOTS_BASE[h3]}, ${SLOTS_END[h3]})]},
    "failures": $(/usr/bin/python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "${FAILS[@]}"),
}))
EOF
	else
		echo
		echo "soak report ($MINUTES min)"
		echo "  pings (10 ms, ${#PAIRS[@]} pairs): $PING_LOST lost of $PING_SENT ($PING_DETAIL)"
		echo "  iperf3 b3->b2 at $IPERF_RATE: $IPERF_MBPS Mbit/s received, $IPERF_RETRANS retransmits"
		echo "  churn: ${CHURN_SENT:-0} frames from $CHURN_MACS new MACs/s, aging ${AGING}s"
		echo "  changes: $n rounds, $APPLIES applies on h3 ($APPLY_FAILS failed), $RESTARTS agent restarts on h1 ($RESTART_FAILS failed)"
		echo "  h2 agent RSS: $RSS_H2_FIRST -> $RSS_H2_END KiB (max $RSS_H2_MAX, growth $RSS_GROWTH, noise $noise); fds $FDS_H2_FIRST -> $FDS_H2_END"
		echo "  h1 agent RSS: max $RSS_H1_MAX KiB, end $RSS_H1_END KiB (restarted)"
		for h in h1 h2 h3; do
			echo "  $h: FDB ${FDB_BASE[$h]} -> max ${FDB_MAX[$h]} -> ${FDB_END[$h]} entries (${CHURN_END[$h]} of the churn's); STT slots ${SLOTS_BASE[$h]} -> ${SLOTS_END[$h]}"
		done
		if ((${#FAILS[@]})); then printf '  FAIL: %s\n' "${FAILS[@]}"; else echo "  PASS"; fi
	fi
} >&3

((${#FAILS[@]} == 0)) || e2e_fail "${FAILS[*]}"
e2e_pass
