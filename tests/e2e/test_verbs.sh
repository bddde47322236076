#!/usr/bin/env bash
# The imperative verbs: a host built with segment/port/flood/fdb add from an
# underlay-only file carries traffic; each verb validates (exit 1, JSON error
# with --json, state unchanged), reads have --json, every verb's --help has
# an example, `export` gives a file that applies with no changes, and
# del undoes add.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_verbs "segment/port/fdb/flood add|del|show, status, export: validation, exit codes, JSON"
e2e_build_topology "ovx ovx" "blue:5001"
BLUE=$(topo_tenant_segment blue)
PORT=$(topo_vm_port b1)
H2=$(topo_host_addr h2)
UNDERLAY_ONLY="$TOPO_DIR/h1-underlay.yaml"
printf 'underlay:\n  interface: eth1\n  address: %s\n  mode: %s\nsegments: []\n' \
	"$(topo_host_addr h1)" "${TOPO_XDP_MODE:-native}" >"$UNDERLAY_ONLY"

e2e_step "--help of every verb has an example"
for verb in apply show export down stats status agent upgrade "segment add" "segment del" \
	"segment show" "port add" "port del" "port show" "fdb add" "fdb del" "fdb show" \
	"flood add" "flood del" "flood show"; do
	out=$("$OVX" $verb --help 2>&1) || e2e_fail "ovx $verb --help: exit $?"
	grep 'Example: ovx' <<<"$out" >/dev/null || e2e_fail "ovx $verb --help has no example: $out"
done
e2e_ok "20 verbs, each with an example"

e2e_step "a mode the interface cannot do: exit 2 naming interface and driver, nothing attached"
sed 's/^  mode: .*/  mode: offload/' "$UNDERLAY_ONLY" >"$TOPO_DIR/h1-offload.yaml"
ovx_apply h1 "$TOPO_DIR/h1-offload.yaml"
((OVX_RC == 2)) || e2e_fail "offload on a veth: exit $OVX_RC, want 2: $OVX_OUT"
[[ $OVX_OUT == *eth1*veth*offload* ]] || e2e_fail "message does not name eth1, its driver and the mode: $OVX_OUT"
! ovx_xdp_attached h1 eth1 || e2e_fail "XDP left attached after the refused offload"
[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "pins left after the refused offload"
e2e_ok "$OVX_OUT"

e2e_step "h1 from an underlay-only file plus verbs; h2 from its file"
ovx_apply h1 "$UNDERLAY_ONLY" || e2e_fail "apply underlay-only: $OVX_OUT"
ovx_apply h2 || e2e_fail "apply h2: $OVX_OUT"
ovx_run h1 segment add "$BLUE" --tenant blue --vni 5001 --aging 120 || e2e_fail "segment add: $OVX_OUT"
ovx_run h1 port add "$PORT" --segment "$BLUE" --mac "$(topo_vm_mac b1)" || e2e_fail "port add: $OVX_OUT"
ovx_run h1 flood add "$H2" --segment "$BLUE" || e2e_fail "flood add: $OVX_OUT"
ovx_run h1 fdb add "$(topo_vm_mac b2)" --segment "$BLUE" --vtep "$H2" --json || e2e_fail "fdb add: $OVX_OUT"
[[ $(ovx_json_get added <<<"$OVX_OUT") == 1 ]] || e2e_fail "fdb add --json: want added=1: $OVX_OUT"
e2e_ok "segment, port, flood, fdb added"
ovx_tc_attached h1 "$PORT" || e2e_fail "port add did not attach TC to $PORT"
e2e_expect_ping b1 "$(topo_vm_ip b2)"
ovx_run h1 fdb show --json --segment "$BLUE" || e2e_fail "fdb show: $OVX_OUT"
entry=$(ovx_json_fdb_entry "$BLUE" "$(topo_vm_mac b2)" <<<"$OVX_OUT") || e2e_fail "no FDB entry for b2: $OVX_OUT"
[[ $(ovx_json_get learned <<<"$entry") == false && $(ovx_json_get vtep <<<"$entry") == "$H2" ]] ||
	e2e_fail "b2's entry is not the static one to $H2: $entry"
e2e_ok "fdb show --json: $entry"
for read in "segment show" "port show" "flood show" status; do
	ovx_run h1 $read --json || e2e_fail "$read --json: exit $OVX_RC: $OVX_OUT"
	/usr/bin/python3 -c 'import json,sys; json.loads(sys.stdin.read())' <<<"$OVX_OUT" ||
		e2e_fail "$read --json is not JSON: $OVX_OUT"
done
ovx_run h1 flood show --json --segment "$BLUE"
[[ $OVX_OUT == *"$H2"* ]] || e2e_fail "flood show lacks $H2: $OVX_OUT"
e2e_ok "segment/port/flood show and status: JSON"

e2e_step "bad input: exit 1, JSON error with --json, nothing changed"
before=$(ovx_show_json h1 | ovx_json_canon)
bad() { # EXPECTED_STATUS ARGS...
	local want=$1
	shift
	ovx_run h1 "$@"
	((OVX_RC == want)) || e2e_fail "ovx $*: exit $OVX_RC, want $want: $OVX_OUT"
}
bad 1 segment add "$BLUE" --tenant blue --vni 6000
bad 1 segment add other --tenant blue --vni 5001
bad 1 segment add other --tenant blue --vni 99999999
bad 1 segment add other --tenant blue --vni 6000 --learning maybe
bad 1 segment del "$BLUE"
bad 1 segment del nosuch
bad 1 port add nosuch0 --segment "$BLUE" --mac 02:00:00:00:09:01
bad 1 port add "$PORT" --segment "$BLUE" --mac 02:00:00:00:09:01
bad 1 port del nosuch0
bad 1 fdb add 02:00:00:00:09:zz --segment "$BLUE" --vtep "$H2"
bad 1 fdb add "$(topo_vm_mac b2)" --segment "$BLUE" --vtep "$H2"
bad 1 fdb add 02:00:00:00:09:02 --segment nosuch --vtep "$H2"
bad 1 fdb del "$(topo_vm_mac b1)" --segment "$BLUE"
bad 1 flood add "$H2" --segment "$BLUE"
bad 1 flood add 999.1.1.1 --segment "$BLUE"
bad 1 flood del 192.168.77.99 --segment "$BLUE"
bad 1 fdb add --segment "$BLUE"
bad 1 segment
e2e_ok "18 bad commands: exit 1"
ovx_run h1 fdb add 02:00:00:00:09:zz --segment "$BLUE" --vtep "$H2" --json
err=$(ovx_json_get error <<<"$OVX_OUT") || e2e_fail "--json error is not JSON: $OVX_OUT"
[[ $(ovx_json_get status <<<"$OVX_OUT") == 1 ]] || e2e_fail "--json error without status 1: $OVX_OUT"
ovx_run h1 fdb add --json
ovx_json_get error <<<"$OVX_OUT" >/dev/null || e2e_fail "usage error with --json is not JSON: $OVX_OUT"
e2e_ok "--json errors: $err"
after=$(ovx_show_json h1 | ovx_json_canon)
[[ $before == "$after" ]] || e2e_fail "state changed by refused commands"
e2e_ok "show --json identical before and after"

e2e_step "export gives a file that applies with no changes"
ovx_run_stdout h1 export >"$TOPO_DIR/h1-export.yaml" || e2e_fail "export failed"
ovx_apply h1 "$TOPO_DIR/h1-export.yaml" || e2e_fail "apply of the export: $OVX_OUT"
[[ $OVX_OUT == *"no changes"* ]] || e2e_fail "apply of the export changed something: $OVX_OUT"
e2e_ok "export -> apply: no changes"

e2e_step "del undoes add"
ovx_run h1 fdb del "$(topo_vm_mac b2)" --segment "$BLUE" || e2e_fail "fdb del: $OVX_OUT"
ovx_run h1 flood del "$H2" --segment "$BLUE" || e2e_fail "flood del: $OVX_OUT"
ovx_run h1 port del "$PORT" || e2e_fail "port del: $OVX_OUT"
! ovx_tc_attached h1 "$PORT" || e2e_fail "port del left TC on $PORT"
ovx_run h1 segment del "$BLUE" || e2e_fail "segment del: $OVX_OUT"
ovx_run h1 segment show --json
[[ $(ovx_json_get segments <<<"$OVX_OUT") == "[]" ]] || e2e_fail "segments left: $OVX_OUT"
e2e_expect_no_ping b1 "$(topo_vm_ip b2)" 2
e2e_ok "h1 is back to its underlay only"

e2e_pass
