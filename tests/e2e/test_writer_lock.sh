#!/usr/bin/env bash
# One writer per instance: every verb that changes an instance takes its
# writer lock. Parallel `fdb add`s all land (with --wait) or are refused
# with exit 2 (without): no exit 0 is ever lost. Two first-time applies at
# once leave one working instance, never a broken one. `down` is refused
# while an agent owns the instance, even during the agent's first apply.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_writer_lock "one writer per instance; parallel verbs lose nothing"
e2e_build_topology "ovx ovx" "blue:5001"
NS=$(topo_host_ns h1)
SEG=$(topo_tenant_segment blue)
CONF=$(topo_config_file h1)

fdb_count() {
	"$OVX" --netns "$NS" fdb show --json | /usr/bin/python3 -c '
import json, sys
print(sum(1 for e in json.load(sys.stdin)["fdb"] if e["mac"].startswith("06:00:00:00:")))'
}

e2e_step "two first-time applies at once, 5 rounds"
for round in 1 2 3 4 5; do
	_ovx_mark_applied h1
	"$OVX" --netns "$NS" apply -f "$CONF" >"$TOPO_DIR/a1.out" 2>&1 &
	p1=$!
	"$OVX" --netns "$NS" apply -f "$CONF" >"$TOPO_DIR/a2.out" 2>&1 &
	p2=$!
	wait $p1; rc1=$?
	wait $p2; rc2=$?
	for rc in $rc1 $rc2; do
		((rc == 0 || rc == 2)) || e2e_fail "round $round: apply exit $rc: $(cat "$TOPO_DIR"/a[12].out)"
	done
	((rc1 == 0 || rc2 == 0)) || e2e_fail "round $round: neither apply succeeded: $(cat "$TOPO_DIR"/a[12].out)"
	if ((rc1 == 2 || rc2 == 2)); then
		grep -h "is being changed by pid" "$TOPO_DIR"/a[12].out >/dev/null ||
			e2e_fail "round $round: exit 2 without naming the writer: $(cat "$TOPO_DIR"/a[12].out)"
	fi
	ovx_run h1 show --json >/dev/null || e2e_fail "round $round: show fails after the race: $OVX_OUT"
	ovx_xdp_attached h1 eth1 || e2e_fail "round $round: no XDP on eth1"
	ovx_down h1 || e2e_fail "round $round: down: exit $OVX_RC: $OVX_OUT"
	[[ $OVX_OUT == *": down"* ]] || e2e_fail "round $round: down found nothing: $OVX_OUT"
	! ovx_xdp_attached h1 eth1 || e2e_fail "round $round: XDP left on eth1 after down"
	[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "round $round: pins left after down"
done
e2e_ok "5 rounds: one apply won (the other exit 0 after it, or exit 2 naming it), down removed everything"

ovx_apply h1 || e2e_fail "apply: exit $OVX_RC: $OVX_OUT"

e2e_step "20 parallel fdb add --wait of distinct MACs"
pids=()
for i in $(seq 1 20); do
	"$OVX" --netns "$NS" --wait fdb add --segment "$SEG" "$(printf '06:00:00:00:00:%02x' "$i")" \
		--vtep 192.168.77.2 >"$TOPO_DIR/w$i.out" 2>&1 &
	pids+=($!)
done
fails=0
for p in "${pids[@]}"; do wait "$p" || fails=$((fails + 1)); done
((fails == 0)) || e2e_fail "$fails of 20 fdb add --wait failed: $(cat "$TOPO_DIR"/w*.out | grep -v '^added\|waiting' | head -5)"
n=$(fdb_count)
((n == 20)) || e2e_fail "20 fdb add --wait exited 0, $n entries remain"
e2e_ok "20 of 20 exit 0, 20 entries present"

e2e_step "20 parallel fdb add without --wait: every exit 0 is in the FDB"
pids=()
for i in $(seq 21 40); do
	"$OVX" --netns "$NS" fdb add --segment "$SEG" "$(printf '06:00:00:00:00:%02x' "$i")" \
		--vtep 192.168.77.2 >"$TOPO_DIR/n$i.out" 2>&1 &
	pids+=($!)
done
ok=0 busy=0
for p in "${pids[@]}"; do
	wait "$p"
	case $? in
	0) ok=$((ok + 1)) ;;
	2) busy=$((busy + 1)) ;;
	*) e2e_fail "fdb add: unexpected exit: $(cat "$TOPO_DIR"/n*.out | head -5)" ;;
	esac
done
n=$(fdb_count)
((n == 20 + ok)) || e2e_fail "$ok of 20 fdb add exited 0 ($busy refused), but $((n - 20)) entries were added"
((busy == 0)) || grep -h "is being changed by pid .* (ovx fdb add)" "$TOPO_DIR"/n*.out >/dev/null ||
	e2e_fail "a refused fdb add does not name the writer: $(cat "$TOPO_DIR"/n*.out | head -3)"
e2e_ok "$ok exit 0 (all present), $busy exit 2 naming the writer"

e2e_step "down while an agent owns the instance, during its first apply too"
ovx_down h1 || e2e_fail "down: exit $OVX_RC: $OVX_OUT"
ovx_agent_start h1 "$CONF" || e2e_fail "agent did not start: $(tail -5 "$(ovx_agent_log h1)")"
ovx_down h1
((OVX_RC == 1)) || e2e_fail "down with an agent running: exit $OVX_RC, want 1: $OVX_OUT"
[[ $OVX_OUT == *"managed by an agent"* ]] || e2e_fail "down does not say why: $OVX_OUT"
ovx_run h1 --wait fdb add --segment "$SEG" 06:00:00:00:01:01 --vtep 192.168.77.2
((OVX_RC == 1)) || e2e_fail "fdb add with an agent running: exit $OVX_RC, want 1: $OVX_OUT"
ovx_run h1 show --json >/dev/null || e2e_fail "show with an agent running: $OVX_OUT"
e2e_ok "down and fdb add refused (exit 1, the agent named); show works"
ovx_agent_stop h1
# Two agents started with a down between them: whichever takes the writer
# lock first applies; the other waits, then finds it alive and exits 2.
ovx_down h1 || e2e_fail "down: exit $OVX_RC: $OVX_OUT"
"$OVX" --netns "$NS" agent -f "$CONF" >"$TOPO_DIR/ag1.log" 2>&1 &
ag1=$!
"$OVX" --netns "$NS" down >"$TOPO_DIR/down.out" 2>&1 &
dn=$!
"$OVX" --netns "$NS" agent -f "$CONF" >"$TOPO_DIR/ag2.log" 2>&1 &
ag2=$!
wait $dn; dn_rc=$?
alive() { kill -0 "$1" 2>/dev/null; }
for _ in $(seq 1 100); do { alive $ag1 && alive $ag2; } || break; sleep 0.1; done
if alive $ag1 && alive $ag2; then
	kill $ag1 $ag2; wait $ag1 $ag2
	e2e_fail "two agents run for one instance: $(cat "$TOPO_DIR"/ag1.log "$TOPO_DIR"/ag2.log)"
fi
if alive $ag1; then winner=$ag1 loser=$ag2 loser_log=ag2.log; else winner=$ag2 loser=$ag1 loser_log=ag1.log; fi
wait $loser; loser_rc=$?
alive $winner || e2e_fail "no agent left running: $(cat "$TOPO_DIR"/ag1.log "$TOPO_DIR"/ag2.log)"
kill $winner; wait $winner
_ovx_mark_applied h1
((loser_rc == 2)) || e2e_fail "second agent: exit $loser_rc, want 2: $(cat "$TOPO_DIR/$loser_log")"
# down either ran before the first agent (nothing to take down) or was
# refused after it; never in between.
if ((dn_rc == 0)); then
	grep -q "nothing to take down" "$TOPO_DIR/down.out" ||
		e2e_fail "down ran while the agent applied: $(cat "$TOPO_DIR/down.out")"
fi
ovx_run h1 show --json >/dev/null || e2e_fail "instance broken after the agent/down race: $OVX_OUT"
e2e_ok "second agent exit 2; down exit $dn_rc ($(head -1 "$TOPO_DIR/down.out")); instance intact"

e2e_pass
