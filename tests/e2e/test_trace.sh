#!/usr/bin/env bash
# ovx trace: off until a trace runs; --drops shows a provoked drop with its
# reason, segment, port and outer addresses; a second trace of the same
# instance is refused; the trace flags are cleared (and the lock file
# removed) when the trace ends, by --count, by SIGINT or by SIGTERM; a full
# trace shows forwarding events.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

counters_topology test_trace "ovx trace: drops with their reason, forwarding events, flags restored"

# trace_state HOST: what the programs emit (show --json "trace").
trace_state() {
	local json
	json=$(ovx_show_json "$1") || e2e_fail "ovx show --json on $1 failed"
	ovx_json_get trace <<<"$json" || e2e_fail "ovx show --json on $1: no 'trace' field"
}

expect_trace_state() {
	local got
	got=$(trace_state "$1")
	[[ $got == "$2" ]] || e2e_fail "$1: trace state '$got', want '$2' ($3)"
	e2e_ok "$1: trace $2 ($3)"
}

# start_trace NAME ARGS...: `ovx trace ARGS` on h1 in the background; returns
# once it reads (its "tracing ..." notice is on stderr).
start_trace() {
	local name=$1 i
	shift
	ovx_bg h1 "$name" trace "$@"
	for ((i = 0; i < 100; i++)); do
		grep '^tracing' "$(topo_bg_out "$name")" >/dev/null 2>&1 && return 0
		kill -0 "$(topo_bg_pid "$name")" 2>/dev/null || break
		sleep 0.05
	done
	e2e_fail "ovx trace $* did not start: $(cat "$(topo_bg_out "$name")")"
}

# wait_exit NAME SECONDS: the background process ends by itself; its exit
# status in $rc.
wait_exit() {
	local pid i
	pid=$(topo_bg_pid "$1")
	for ((i = 0; i < $2 * 20; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	kill -0 "$pid" 2>/dev/null && e2e_fail "$1 still running after $2 s: $(cat "$(topo_bg_out "$1")")"
	wait "$pid"
	rc=$?
}

e2e_step "no trace running: the programs emit nothing"
expect_trace_state h1 off "before any trace"

e2e_step "ovx trace --drops --count 1 shows a frame from an unknown VTEP"
start_trace drops --drops --count 1
expect_trace_state h1 drops "while tracing drops"
ovx_run h1 trace --drops
((OVX_RC == 2)) || e2e_fail "a second trace: exit $OVX_RC, want 2: $OVX_OUT"
[[ $OVX_OUT == *"another ovx trace (pid $(topo_bg_pid drops))"* ]] ||
	e2e_fail "a second trace: message does not name the first one's pid: $OVX_OUT"
e2e_ok "a second trace is refused: $OVX_OUT"
inject_from_host h2 1 vxlan --dst-mac "$(host_mac h1)" --src-ip 192.168.77.50
wait_exit drops 5
out=$(grep -v '^tracing' "$(topo_bg_out drops)")
e2e_info "trace: $out"
((rc == 0)) || e2e_fail "ovx trace --drops --count 1: exit $rc"
for want in " drop unknown_vtep " "segment $BLUE (blue)" " in eth1 " " vxlan " \
	"192.168.77.50 > 192.168.77.1" "02:00:00:00:02:01 > ff:ff:ff:ff:ff:ff"; do
	[[ $out == *"$want"* ]] || e2e_fail "trace line lacks '$want': $out"
done
[[ $(wc -l <<<"$out") -eq 1 ]] || e2e_fail "trace printed $(wc -l <<<"$out") lines, want 1"
e2e_ok "one line: drop, reason, segment, port, outer addresses, MACs"
expect_trace_state h1 off "after --count 1 ended the trace"

e2e_step "SIGINT and SIGTERM end a full trace and turn the events off"
for sig in INT TERM; do
	start_trace "all-$sig"
	expect_trace_state h1 all "while tracing everything"
	kill "-$sig" "$(topo_bg_pid "all-$sig")"
	wait_exit "all-$sig" 5
	((rc == 0)) || e2e_fail "ovx trace after SIG$sig: exit $rc: $(cat "$(topo_bg_out "all-$sig")")"
	expect_trace_state h1 off "after SIG$sig"
done
LOCK=/run/ovx/trace-$(ovx_instance h1).lock
[[ ! -e $LOCK ]] || e2e_fail "$LOCK left behind after the traces ended"
e2e_ok "no $LOCK left behind"

e2e_step "ovx trace --json --segment $BLUE: a ping's encap and decap"
start_trace json --json --segment "$BLUE" --count 2
ping_exact b1 "$(topo_vm_ip b2)" 1
wait_exit json 5
((rc == 0)) || e2e_fail "ovx trace --json: exit $rc: $(cat "$(topo_bg_out json)")"
/usr/bin/python3 - "$(topo_bg_out json)" "$BLUE" "$(topo_vm_port b1)" <<'PY' || e2e_fail "trace --json events are not the ping's"
import json, sys
path, seg, port = sys.argv[1:4]
events = [json.loads(l) for l in open(path) if l.startswith("{")]
kinds = sorted(e["kind"] for e in events)
print("    events:", json.dumps(events))
assert kinds == ["decap", "encap"], kinds
for e in events:
    assert e["segment"] == seg and e["tenant"] == "blue", e
    want_port = port if e["kind"] == "encap" else "eth1"
    assert e["port"] == want_port, (e, want_port)
    assert e["outer_src"] and e["outer_dst"], e
PY
e2e_ok "encap (in $(topo_vm_port b1)) and decap (in eth1) of blue-web"
expect_trace_state h1 off "after the JSON trace"

e2e_pass
