#!/usr/bin/env bash
# kill -9 at any step leaves nothing that needs hand work. OVX_CRASH_AT=N
# makes ovx _exit (no destructors, as kill -9) at its N-th crash point; for
# every N an apply, a change of a running instance and a down reach, the
# next apply or down must repair or remove everything: hooks, pins,
# forwarding, the segmenter, the change log. A SIGKILLed trace's flags go
# at the next apply.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_crash_recovery "kill -9 at every step: the next apply or down repairs everything"
e2e_build_topology "ovx ovx" "blue:5001 red:7001:stt"
NS=$(topo_host_ns h1)
CONF=$(topo_config_file h1)
INST=$(ovx_instance h1)
ovx_apply h2 || e2e_fail "apply on h2: exit $OVX_RC: $OVX_OUT"
ip netns exec "$NS" sysctl -qw net.ipv4.conf.eth1.forwarding=0
# The change: generic mode, red's segment (the STT one) and its port gone.
awk '/^  - name: /{skip = ($0 ~ /red/)} !skip' "$CONF" | sed 's/^  mode: .*/  mode: generic/' \
	>"$TOPO_DIR/change.yaml"
RED_PORT=$(topo_vm_port r1)

# leftovers: what of ovx is on h1 (empty: nothing).
leftovers() {
	local what="" p
	ovx_xdp_attached h1 eth1 && what+="xdp "
	for p in eth1 $(topo_vm_port b1) "$RED_PORT"; do
		ovx_tc_attached h1 "$p" && what+="tc:$p "
	done
	[[ -e $(ovx_pin_dir h1) ]] && what+="pins "
	[[ -e $OVX_BPF_ROOT-staging/$INST ]] && what+="staging-pins "
	[[ $(ip netns exec "$NS" sysctl -n net.ipv4.conf.eth1.forwarding) == 0 ]] || what+="forwarding "
	ip -n "$NS" -o link show | grep -q ovxseg && what+="segmenter "
	[[ -e /run/ovx/$INST.pending ]] && what+="change-log "
	echo "$what"
}

# crash_loop NAME SETUP CMD...: for N = 1, 2, ...: SETUP, then CMD with
# OVX_CRASH_AT=N, then recover (odd N: apply then down; even N: down), and
# check nothing is left; ends when CMD runs through without crashing.
crash_loop() {
	local name=$1 setup=$2 n rc left
	shift 2
	for n in $(seq 1 40); do
		$setup
		OVX_OUT=$(OVX_CRASH_AT=$n timeout 60 "$OVX" --netns "$NS" "$@" 2>&1)
		rc=$?
		if ((rc == 0)); then
			e2e_ok "$name: ran through at N=$n; crashed at every one of the $((n - 1)) points before"
			ovx_down h1 || e2e_fail "$name: down: exit $OVX_RC: $OVX_OUT"
			return 0
		fi
		((rc == 137)) || e2e_fail "$name, N=$n: exit $rc: $OVX_OUT"
		if ((n % 2)); then
			ovx_apply h1 || e2e_fail "$name, N=$n: apply after the crash: exit $OVX_RC: $OVX_OUT"
			ovx_run h1 status --json >/dev/null || e2e_fail "$name, N=$n: status: $OVX_OUT"
		fi
		ovx_down h1 || e2e_fail "$name, N=$n: down after the crash: exit $OVX_RC: $OVX_OUT"
		left=$(leftovers)
		[[ -z $left ]] || e2e_fail "$name, N=$n ($(grep -o "exiting at '.*'" <<<"$OVX_OUT")): left after down: $left"
	done
	e2e_fail "$name: still crashing at N=40"
}

nothing() { :; }
running() { ovx_apply h1 || e2e_fail "setup apply: exit $OVX_RC: $OVX_OUT"; }

e2e_step "first apply, killed at every step"
_ovx_mark_applied h1
crash_loop "first apply" nothing apply -f "$CONF"

e2e_step "a change of a running instance (mode, a segment and its port), killed at every step"
crash_loop "change" running apply -f "$TOPO_DIR/change.yaml"

e2e_step "down, killed at every step"
crash_loop "down" running down

e2e_step "the change once more, then traffic"
running
OVX_CRASH_AT=3 "$OVX" --netns "$NS" apply -f "$TOPO_DIR/change.yaml" >/dev/null 2>&1
ovx_apply h1 "$TOPO_DIR/change.yaml" || e2e_fail "apply after a crash: exit $OVX_RC: $OVX_OUT"
ip -n "$NS" link show eth1 | grep -w xdpgeneric >/dev/null || e2e_fail "not in generic mode after the change"
! ovx_tc_attached h1 "$RED_PORT" || e2e_fail "red's port still attached after the change"
! ip -n "$NS" -o link show | grep -q ovxseg || e2e_fail "segmenter left after the change"
topo_neigh_flush $(topo_vms)
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
e2e_ok "the change is whole after a crash and a re-apply"

e2e_step "a SIGKILLed trace: the next apply turns tracing off"
"$OVX" --netns "$NS" trace --json >/dev/null 2>&1 &
tp=$!
for _ in $(seq 1 50); do
	[[ $("$OVX" --netns "$NS" show --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["trace"])') == all ]] && break
	sleep 0.1
done
kill -9 $tp
wait $tp 2>/dev/null
t=$("$OVX" --netns "$NS" show --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["trace"])')
[[ $t == all ]] || e2e_fail "trace was not on before the kill: $t"
ovx_apply h1 "$TOPO_DIR/change.yaml" || e2e_fail "apply: exit $OVX_RC: $OVX_OUT"
t=$("$OVX" --netns "$NS" show --json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["trace"])')
[[ $t == off || $t == none || -z $t ]] || e2e_fail "tracing still on after apply: $t"
e2e_ok "trace flags cleared by the next apply"

e2e_pass
