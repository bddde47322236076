# shellcheck shell=bash
#
# ovx.sh - driving the ovx binary on topology.sh hosts (sourced, not run).
#
#   OVX          the binary (default: <repo>/build/ovx)
#   OVX_TIMEOUT  seconds any single ovx command may take (default 60)
#
# Every host's ovx instance is its namespace name (ovx's default), so its
# pins live in /sys/fs/bpf/ovx/<namespace>. Hosts applied through ovx_apply
# are taken down (ovx down) by the cleanup hook this file registers, before
# topo_cleanup deletes the namespaces; pins left behind after that are
# reported (OVX_LEFTOVERS=1) and then removed.
#
# The JSON that `show --json` and `stats --json` print is read only by the
# helpers below (ovx_json_*), so that a change of field names is one edit
# here. Assumed shapes:
#   stats --json: {"segments": [{"name", "tenant", "id", "rx_packets",
#                  "tx_packets", "local_packets", "flood_copies", "learned",
#                  "drops": {"<reason>": N, ...}}, ...]}
#   show --json:  {..., "fdb": [{"segment", "mac", "vtep", "kind", "learned"}, ...]}

[[ -n ${_OVX_OVX_SH:-} ]] && return 0
_OVX_OVX_SH=1

# shellcheck source=topology.sh
source "$(dirname "${BASH_SOURCE[0]}")/topology.sh"

OVX=${OVX:-$OVX_REPO_ROOT/build/ovx}
[[ $OVX == /* ]] || OVX="$OVX_REPO_ROOT/$OVX" # relative paths are from the repo root
OVX_TIMEOUT=${OVX_TIMEOUT:-60}
OVX_BPF_ROOT=/sys/fs/bpf/ovx

# JSON field names, in one place.
OVX_JSON_SEGMENTS=${OVX_JSON_SEGMENTS:-segments}
OVX_JSON_SEG_NAME=${OVX_JSON_SEG_NAME:-name}
OVX_JSON_FDB=${OVX_JSON_FDB:-fdb}
OVX_JSON_FDB_SEGMENT=${OVX_JSON_FDB_SEGMENT:-segment}
OVX_JSON_FDB_MAC=${OVX_JSON_FDB_MAC:-mac}

OVX_APPLIED=()  # hosts ovx_apply touched (ovx down at cleanup)
OVX_LEFTOVERS=0 # set by the cleanup hook when ovx down left something behind
OVX_OUT=""      # combined output of the last ovx_run
OVX_RC=0        # exit status of the last ovx_run

# ovx_require: dies unless $OVX is an executable.
ovx_require() {
	[[ -x $OVX ]] || topo_die "ovx binary not found at $OVX (build it, or set OVX=/path/to/ovx)"
}

# ovx_instance HOST / ovx_pin_dir HOST
ovx_instance() { topo_host_ns "$1"; }
ovx_pin_dir() { printf '%s/%s\n' "$OVX_BPF_ROOT" "$(ovx_instance "$1")"; }

# ovx_run HOST ARGS...: `ovx --netns <HOST's namespace> ARGS...`; stdout and
# stderr end up in $OVX_OUT (not printed), the status in $OVX_RC (returned).
ovx_run() {
	local ns
	ns=$(topo_host_ns "$1") || return 2
	shift
	OVX_OUT=$(timeout "$OVX_TIMEOUT" "$OVX" --netns "$ns" "$@" 2>&1)
	OVX_RC=$?
	((OVX_RC == 124)) && OVX_OUT+=$'\n'"(ovx timed out after ${OVX_TIMEOUT}s)"
	return $OVX_RC
}

# ovx_run_stdout HOST ARGS...: like ovx_run but prints stdout only (stderr
# goes to stderr); for the JSON commands.
ovx_run_stdout() {
	local ns
	ns=$(topo_host_ns "$1") || return 2
	shift
	timeout "$OVX_TIMEOUT" "$OVX" --netns "$ns" "$@"
}

_ovx_mark_applied() {
	local h
	for h in "${OVX_APPLIED[@]}"; do [[ $h == "$1" ]] && return 0; done
	OVX_APPLIED+=("$1")
}

# ovx_apply HOST [FILE]: applies FILE (default: topo_config_file HOST).
# Returns ovx's status; its output is in $OVX_OUT.
ovx_apply() {
	local host=$1 file=${2:-}
	[[ -n $file ]] || file=$(topo_config_file "$host")
	_ovx_mark_applied "$host" # even a failed apply may have left something
	ovx_run "$host" apply -f "$file"
}

# ovx_apply_all: applies every ovx host's generated config; dies on failure.
ovx_apply_all() {
	local h
	for h in $(topo_hosts ovx); do
		if ovx_apply "$h"; then
			topo_log "ovx apply on $h: ok"
		else
			topo_die "ovx apply on $h failed (exit $OVX_RC):
$OVX_OUT
config $(topo_config_file "$h"):
$(cat "$(topo_config_file "$h")")"
		fi
	done
}

# ovx_down HOST: `ovx down`; returns its status (output in $OVX_OUT).
ovx_down() { ovx_run "$1" down; }

# --- the agent ------------------------------------------------------------------

OVX_AGENTS=() # hosts ovx_agent_start started an agent for (stopped at cleanup)

# ovx_agent_start HOST FILE [ARGS...]: `ovx --netns NS agent -f FILE ARGS` in
# the background, log in $(ovx_agent_log HOST) (appended to, across
# restarts); returns once the agent has applied FILE (a new log line matching
# $OVX_AGENT_READY, default "] applied "), 1 if it exited first or took more
# than 30 s.
ovx_agent_start() {
	ovx_agent_spawn "$@" && ovx_agent_wait_ready "$1"
}

# ovx_agent_spawn HOST FILE [AGENT ARGS...]: ovx_agent_start without the
# wait; ovx_agent_wait_ready HOST waits. Many agents start at once this way.
declare -A OVX_AGENT_READY_BEFORE=()
ovx_agent_spawn() {
	local host=$1 file=$2 ns log ready=${OVX_AGENT_READY:-'\] applied '}
	shift 2
	ns=$(topo_host_ns "$host") || return 1
	_ovx_mark_applied "$host"
	local h found=0
	for h in "${OVX_AGENTS[@]}"; do [[ $h == "$host" ]] && found=1; done
	((found)) || OVX_AGENTS+=("$host")
	log=$(ovx_agent_log "$host")
	OVX_AGENT_READY_BEFORE[$host]=$(grep -c -E "$ready" "$log" 2>/dev/null)
	# Not under `ip netns exec`: that gives the process a /sys of its own,
	# and pins made there would be invisible to every other ovx call.
	# OVX_AGENT_FLAG=--cluster: FILE is a cluster-mode host file.
	"$OVX" --netns "$ns" agent "${OVX_AGENT_FLAG:--f}" "$file" "$@" >>"$log" 2>&1 </dev/null &
	TOPO_BG_PID[agent-$host]=$!
	TOPO_BG_OUT[agent-$host]=$log
	TOPO_PIDS+=("$!")
}

# ovx_agent_wait_ready HOST [TENTHS]: 0 once HOST's agent logged
# $OVX_AGENT_READY since its spawn (within TENTHS tenths of a second,
# default 300); 1 when it died or did not in time.
ovx_agent_wait_ready() {
	local host=$1 log i seen ready=${OVX_AGENT_READY:-'\] applied '}
	log=$(ovx_agent_log "$host")
	for ((i = 0; i < ${2:-300}; i++)); do
		seen=$(grep -c -E "$ready" "$log" 2>/dev/null)
		((${seen:-0} > ${OVX_AGENT_READY_BEFORE[$host]:-0})) && return 0
		kill -0 "${TOPO_BG_PID[agent-$host]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ovx_agent_log HOST: the file the agent of HOST logs to.
ovx_agent_log() { printf '%s/agent-%s.log\n' "$TOPO_DIR" "$1"; }

# ovx_agent_pid HOST: its PID (empty when none was started).
ovx_agent_pid() { topo_bg_pid "agent-$1"; }

# ovx_agent_stop HOST [SIGNAL]: signals (default TERM) and reaps the agent;
# returns its exit status (137 for KILL).
ovx_agent_stop() {
	local pid rc
	pid=$(ovx_agent_pid "$1")
	[[ -n $pid ]] || return 0
	kill "-${2:-TERM}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	unset "TOPO_BG_PID[agent-$1]"
	return $rc
}

# ovx_agent_wait_log HOST PATTERN [SECONDS]: 0 once the agent's log has a
# line matching PATTERN (grep -E), 1 after SECONDS (default 10).
ovx_agent_wait_log() {
	local log i
	log=$(ovx_agent_log "$1")
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		grep -E "$2" "$log" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ovx_xdp_attached HOST [IFACE]: 0 if an XDP program is on IFACE (eth1),
# in any mode (ip link shows xdp / xdpgeneric / xdpdrv / xdpoffload).
ovx_xdp_attached() {
	# grep reads all input (no -q): with pipefail, an early exit would
	# SIGPIPE the producer and fail the pipeline at random.
	ip -n "$(topo_host_ns "$1")" link show dev "${2:-eth1}" 2>/dev/null | grep -w 'xdp[a-z]*' >/dev/null
}

# ovx_tc_attached HOST IFACE: 0 if IFACE has a BPF program on tc ingress:
# a cls_bpf filter (libbpf bpf_tc_attach) or a tcx link (BPF_PROG_QUERY with
# BPF_TCX_INGRESS, for the bpftool here does not know tcx).
ovx_tc_attached() {
	local ns
	ns=$(topo_host_ns "$1") || return 1
	tc -n "$ns" filter show dev "$2" ingress 2>/dev/null | grep -w bpf >/dev/null && return 0
	ip netns exec "$ns" /usr/bin/python3 -c '
import ctypes, socket, struct, sys
SYS_bpf, BPF_PROG_QUERY, BPF_TCX_INGRESS = 321, 16, 46  # x86_64
try:
    idx = socket.if_nametoindex(sys.argv[1])
except OSError:
    sys.exit(1)
attr = ctypes.create_string_buffer(struct.pack("<IIIIQIIQQQQ", idx, BPF_TCX_INGRESS,
                                               0, 0, 0, 0, 0, 0, 0, 0, 0), 64)
libc = ctypes.CDLL(None, use_errno=True)
if libc.syscall(SYS_bpf, BPF_PROG_QUERY, attr, 64) != 0:
    sys.exit(1)
sys.exit(0 if struct.unpack_from("<I", attr, 24)[0] > 0 else 1)' "$2" 2>/dev/null
}

# ovx_cleanup_hook: `ovx down` on every applied host whose namespace still
# exists, then checks (and removes) its pins. Registered with topo_cleanup.
# A failing `ovx down` only counts when it left something behind (pins, XDP
# on the underlay): down on a never-applied instance may well be an error.
ovx_cleanup_hook() {
	local h dir rc=0 down_rc
	# A running agent owns its instance and refuses `ovx down`: stop it.
	for h in "${OVX_AGENTS[@]}"; do ovx_agent_stop "$h"; done
	OVX_AGENTS=()
	for h in "${OVX_APPLIED[@]}"; do
		dir=$(ovx_pin_dir "$h")
		down_rc=0
		if [[ -e /run/netns/$(topo_host_ns "$h") && -x $OVX ]]; then
			ovx_down "$h" || down_rc=$OVX_RC
			if ovx_xdp_attached "$h" eth1; then
				topo_warn "ovx down on $h (exit $down_rc) left XDP on eth1: $OVX_OUT"
				OVX_LEFTOVERS=1
				rc=1
			elif ((down_rc != 0)); then
				echo "    note: ovx down on $h: exit $down_rc: $OVX_OUT" >&2
			fi
		fi
		if [[ -e /run/ovx/$(ovx_instance "$h") ]]; then
			topo_warn "ovx agent state left behind in /run/ovx/$(ovx_instance "$h")"
			OVX_LEFTOVERS=1
			rc=1
			rm -rf -- "/run/ovx/$(ovx_instance "$h")"
		fi
		if [[ -e /run/ovx/$(ovx_instance "$h").pending ]]; then
			topo_warn "an unfinished change of $h is left: /run/ovx/$(ovx_instance "$h").pending"
			OVX_LEFTOVERS=1
			rc=1
		fi
		# The writer lock file outlives every writer by design (a lock
		# file removed while a waiter holds it open guards nothing); the
		# run's instance names are its own, so its files go with it.
		rm -f -- "/run/ovx/$(ovx_instance "$h").lock" "/run/ovx/$(ovx_instance "$h").pending"
		if [[ -e $dir ]]; then
			topo_warn "ovx pins left behind in $dir: $(find "$dir" -mindepth 1 2>/dev/null | head -20 | tr '\n' ' ')"
			OVX_LEFTOVERS=1
			rc=1
			rm -rf -- "$dir"
		fi
	done
	OVX_APPLIED=()
	return $rc
}
topo_add_cleanup_hook ovx_cleanup_hook

# --- JSON -----------------------------------------------------------------------

# ovx_stats_json HOST / ovx_show_json HOST: the JSON documents (stdout).
ovx_stats_json() { ovx_run_stdout "$1" stats --json; }
ovx_show_json() { ovx_run_stdout "$1" show --json; }

# ovx_json_seg_field FIELD SEGMENT < stats-json: prints the segment's FIELD
# (dotted paths into objects: drops.unknown_vni). Exit 1 if there is no such
# segment or field.
ovx_json_seg_field() {
	/usr/bin/python3 -c '
import json, sys
field, seg = sys.argv[1], sys.argv[2]
segs_key, name_key = sys.argv[3], sys.argv[4]
try:
    doc = json.load(sys.stdin)
except Exception as e:
    sys.exit("not JSON: %s" % e)
for s in doc.get(segs_key, []):
    if s.get(name_key) == seg:
        v = s
        for part in field.split("."):
            if not isinstance(v, dict) or part not in v:
                sys.exit("segment %s has no field %s" % (seg, field))
            v = v[part]
        print(json.dumps(v) if isinstance(v, (dict, list)) else v)
        sys.exit(0)
sys.exit("no segment %s in %s" % (seg, segs_key))
' "$1" "$2" "$OVX_JSON_SEGMENTS" "$OVX_JSON_SEG_NAME"
}

# ovx_stat HOST SEGMENT FIELD: one counter of `ovx stats --json`.
ovx_stat() {
	local json
	json=$(ovx_stats_json "$1") || return 1
	ovx_json_seg_field "$3" "$2" <<<"$json"
}

# ovx_json_seg_summary SEGMENT < stats-json: "rx=.. tx=.. ..." one line,
# drops only where non-zero.
ovx_json_seg_summary() {
	/usr/bin/python3 -c '
import json, sys
seg, segs_key, name_key = sys.argv[1:4]
doc = json.load(sys.stdin)
for s in doc.get(segs_key, []):
    if s.get(name_key) == seg:
        out = []
        for k in ("rx_packets", "tx_packets", "local_packets", "flood_copies", "learned"):
            out.append("%s=%s" % (k, s.get(k, "?")))
        drops = {k: v for k, v in (s.get("drops") or {}).items() if v}
        out.append("drops=" + (",".join("%s:%s" % kv for kv in sorted(drops.items())) or "0"))
        print(" ".join(out))
        sys.exit(0)
sys.exit("no segment %s" % seg)
' "$1" "$OVX_JSON_SEGMENTS" "$OVX_JSON_SEG_NAME"
}

# ovx_json_fdb_entry SEGMENT MAC < show-json: prints the FDB entry (JSON
# object) for MAC in SEGMENT; exit 1 if there is none.
ovx_json_fdb_entry() {
	/usr/bin/python3 -c '
import json, sys
seg, mac, fdb_key, seg_key, mac_key = sys.argv[1:6]
doc = json.load(sys.stdin)
for e in doc.get(fdb_key, []):
    if e.get(seg_key) == seg and str(e.get(mac_key, "")).lower() == mac.lower():
        print(json.dumps(e, sort_keys=True))
        sys.exit(0)
sys.exit(1)
' "$1" "$2" "$OVX_JSON_FDB" "$OVX_JSON_FDB_SEGMENT" "$OVX_JSON_FDB_MAC"
}

# ovx_json_get KEY < json-object: one top-level field of a JSON object.
ovx_json_get() {
	/usr/bin/python3 -c '
import json, sys
v = json.load(sys.stdin).get(sys.argv[1])
if v is None:
    sys.exit(1)
print(json.dumps(v) if isinstance(v, (dict, list, bool)) else v)
' "$1"
}

# ovx_json_canon < json: the document with sorted keys, one line (to compare).
ovx_json_canon() {
	/usr/bin/python3 -c 'import json, sys; print(json.dumps(json.load(sys.stdin), sort_keys=True))'
}

# ovx_print_stats HOST: `ovx stats` as ovx prints it, indented.
ovx_print_stats() {
	if ovx_run "$1" stats; then
		printf '%s\n' "$OVX_OUT" | sed 's/^/      /'
	else
		echo "      (ovx stats failed, exit $OVX_RC: $OVX_OUT)"
	fi
}

# ovx_dump_state: show + stats of every applied host (for failure reports).
ovx_dump_state() {
	local h
	[[ -x $OVX ]] || return 0
	for h in "${OVX_APPLIED[@]}"; do
		[[ -e /run/netns/$(topo_host_ns "$h") ]] || continue
		echo "---- ovx show on $h ----"
		ovx_run "$h" show
		printf '%s\n' "$OVX_OUT"
		echo "---- ovx stats on $h ----"
		ovx_run "$h" stats
		printf '%s\n' "$OVX_OUT"
	done
}
