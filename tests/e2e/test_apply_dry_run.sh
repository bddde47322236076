#!/usr/bin/env bash
# `ovx apply --dry-run` and `--diff`: what an apply would change, and
# nothing changed. Exit 3 when something would change (on an instance not up
# yet: everything), 0 when nothing would, 1 for bad input; text, --json and
# --diff agree with what the real apply then does; maps (`ovx show --json`),
# pins, hooks and the run directory are the same before and after each dry
# run; a running agent does not refuse it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_apply_dry_run "apply --dry-run/--diff: exit 0/3/1, text and JSON, nothing changed"
# The run directory (writer locks, change logs, agent state) of this test
# only, so that "nothing in it changed" means this test's instances.
export OVX_RUN_DIR=$TOPO_DIR/run
e2e_build_topology "ovx ovx" "blue:5001"
BLUE=$(topo_tenant_segment blue)
H1_CONF=$(topo_config_file h1)
H2_ADDR=$(topo_host_addr h2)
PINS=$(ovx_pin_dir h1)

# Everything a dry run must leave as it was on h1: the maps as ovx shows
# them, the pins (names and inodes), the hooks, the run directory.
state() {
	if [[ -d $PINS ]]; then
		ovx_run_stdout h1 show --json | ovx_json_canon || echo "show failed"
		find "$PINS" -printf '%p %i\n' | sort
	else
		echo "no pins"
	fi
	ip -n "$(topo_host_ns h1)" -d link show dev eth1 | grep -o 'xdp[a-z]* .*' || echo "no xdp"
	for dev in eth1 "$(topo_vm_port b1)"; do
		printf '%s tc: ' "$dev"
		ovx_tc_attached h1 "$dev" && echo yes || echo no
	done
	find "$OVX_RUN_DIR" -printf '%p %s\n' 2>/dev/null | sort
}
json() { /usr/bin/python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }

e2e_step "an instance that is not up: exit 3, everything would be added, nothing made"
before=$(state)
ovx_run h1 apply --dry-run -f "$H1_CONF"
((OVX_RC == 3)) || e2e_fail "dry run on a fresh instance: exit $OVX_RC, want 3: $OVX_OUT"
for want in "+ create instance" "+ attach XDP (native) on eth1" "+ attach TC (tc_underlay) on eth1" \
	"+ attach TC (tc_port) on $(topo_vm_port b1)" "+ segment $BLUE  id=5001 encap=vxlan" \
	"+ add managed neighbour $H2_ADDR on eth1" "ovx_vni: 1 added" "would change:"; do
	[[ $OVX_OUT == *"$want"* ]] || e2e_fail "dry run output lacks '$want': $OVX_OUT"
done
[[ $(state) == "$before" ]] || e2e_fail "the dry run changed something: $(diff <(echo "$before") <(state))"
[[ ! -e $PINS ]] || e2e_fail "the dry run pinned $PINS"
e2e_ok "exit 3, nothing pinned or attached"
ovx_run h1 apply --dry-run --json -f "$H1_CONF"
((OVX_RC == 3)) || e2e_fail "--json on a fresh instance: exit $OVX_RC: $OVX_OUT"
[[ $(json 'd["create"], d["changes"]' <<<"$OVX_OUT") == "True True" ]] ||
	e2e_fail "--json: want create and changes true: $OVX_OUT"
[[ $(json '[e["new"]["vtep"] for e in d["maps"]["ovx_flood_vteps"]["added"]]' <<<"$OVX_OUT") == "['$H2_ADDR']" ]] ||
	e2e_fail "--json: the flood list to $H2_ADDR is not among the additions: $OVX_OUT"
[[ $(state) == "$before" ]] || e2e_fail "the --json dry run changed something"
e2e_ok "--json: create, the flood VTEP $H2_ADDR added"

e2e_step "bad input: exit 1"
ovx_run h1 apply --dry-run -f "$TOPO_DIR/no-such-file.yaml"
((OVX_RC == 1)) || e2e_fail "a missing file: exit $OVX_RC, want 1: $OVX_OUT"
sed 's/interface: eth1/interface: eth9/' "$H1_CONF" >"$TOPO_DIR/h1-bad.yaml"
ovx_run h1 apply --diff -f "$TOPO_DIR/h1-bad.yaml"
((OVX_RC == 1)) || e2e_fail "a missing interface: exit $OVX_RC, want 1: $OVX_OUT"
[[ $OVX_OUT == *h1-bad.yaml:*eth9* ]] || e2e_fail "the message does not point at the file: $OVX_OUT"
[[ $(state) == "$before" ]] || e2e_fail "a refused dry run changed something"
e2e_ok "$OVX_OUT"

e2e_step "applied, the same file: exit 0, no changes"
ovx_apply h1 || e2e_fail "apply h1: $OVX_OUT"
ovx_apply h2 || e2e_fail "apply h2: $OVX_OUT"
ovx_run h1 apply --dry-run -f "$H1_CONF"
((OVX_RC == 0)) || e2e_fail "dry run of the applied file: exit $OVX_RC, want 0: $OVX_OUT"
[[ $OVX_OUT == *"no changes"* ]] || e2e_fail "no 'no changes': $OVX_OUT"
ovx_run h1 apply --diff -f "$H1_CONF"
((OVX_RC == 0)) && [[ -z $OVX_OUT ]] || e2e_fail "--diff of the applied file: exit $OVX_RC: '$OVX_OUT'"
ovx_run h1 apply --dry-run --json -f "$H1_CONF"
((OVX_RC == 0)) && [[ $(json 'd["changes"], d["maps"], d["hooks"]' <<<"$OVX_OUT") == "False {} []" ]] ||
	e2e_fail "--json of the applied file: exit $OVX_RC: $OVX_OUT"
e2e_ok "exit 0: text, --diff and --json"

e2e_step "a changed file: exit 3, what would change, and nothing changed"
CHANGED=$TOPO_DIR/h1-changed.yaml
# aging 300 -> 60 (a segment's record), a static remote (an FDB entry
# added), b1's port gone (its entries removed, its TC hook detached).
awk -v vtep="$H2_ADDR" -v port="$(topo_vm_port b1)" '
	/^    learning:/ { print; print "    aging: 60"; next }
	/^    ports:/ { print "    ports: []"; print "    remotes:"
		print "      - {mac: \"02:00:00:00:02:01\", vtep: " vtep "}"; skip = 1; next }
	skip && /^      / { next }
	{ skip = 0; print }' "$H1_CONF" >"$CHANGED"
before=$(state)
[[ $before == *"$PINS"* && $before != *"show failed"* ]] || e2e_fail "no state to compare: $before"
ovx_run h1 apply --dry-run -f "$CHANGED"
((OVX_RC == 3)) || e2e_fail "dry run of a changed file: exit $OVX_RC, want 3: $OVX_OUT"
for want in "~ segment $BLUE  ports: 1 -> 0, aging: 300 -> 60" "+ segment $BLUE 02:00:00:00:02:01  vtep=$H2_ADDR flags=static" \
	"- interface $(topo_vm_port b1)" "- detach TC on $(topo_vm_port b1)"; do
	[[ $OVX_OUT == *"$want"* ]] || e2e_fail "dry run output lacks '$want': $OVX_OUT"
done
e2e_info "${OVX_OUT//$'\n'/$'\n'    }"
ovx_run h1 apply --diff -f "$CHANGED"
((OVX_RC == 3)) || e2e_fail "--diff of a changed file: exit $OVX_RC, want 3: $OVX_OUT"
for want in "--- ovx_segments (instance $(ovx_instance h1))" "+++ ovx_segments ($CHANGED)" \
	"-segment $BLUE  id=5001" "+segment $BLUE  id=5001" "-detach TC on $(topo_vm_port b1)"; do
	[[ $OVX_OUT == *"$want"* ]] || e2e_fail "--diff output lacks '$want': $OVX_OUT"
done
ovx_run h1 apply --dry-run --json -f "$CHANGED"
((OVX_RC == 3)) || e2e_fail "--json of a changed file: exit $OVX_RC: $OVX_OUT"
plan=$OVX_OUT
got=$(json '[(e["key"], e["old"]["aging"], e["new"]["aging"]) for e in d["maps"]["ovx_segments"]["changed"]]' <<<"$plan")
[[ $got == "[('segment $BLUE', '300', '60')]" ]] || e2e_fail "--json: segment change is $got: $plan"
after=$(state)
[[ $after == "$before" ]] || e2e_fail "the dry runs changed something: $(diff <(echo "$before") <(echo "$after"))"
e2e_ok "maps, pins, hooks and run directory as they were"

e2e_step "the real apply changes what the dry run said"
ovx_run h1 apply --json -f "$CHANGED" || e2e_fail "apply of the changed file: $OVX_OUT"
for k in added changed removed; do
	want=$(json "d['summary']['$k']" <<<"$plan")
	got=$(ovx_json_get "$k" <<<"$OVX_OUT")
	[[ $got == "$want" ]] || e2e_fail "apply $k $got map entries, the dry run said $want: $OVX_OUT"
done
ovx_tc_attached h1 "$(topo_vm_port b1)" && e2e_fail "the apply left TC on $(topo_vm_port b1)"
ovx_run h1 apply --dry-run -f "$CHANGED"
((OVX_RC == 0)) || e2e_fail "dry run after the apply: exit $OVX_RC, want 0: $OVX_OUT"
e2e_ok "$(json 'd["summary"]' <<<"$plan") as said; then nothing left to change"

e2e_step "beside a running agent: the dry run is allowed, apply is refused"
ovx_agent_start h2 "$(topo_config_file h2)" --interval 1 || e2e_fail "agent on h2 did not start"
ovx_run h2 apply --dry-run -f "$(topo_config_file h2)"
((OVX_RC == 0)) || e2e_fail "dry run beside the agent: exit $OVX_RC, want 0: $OVX_OUT"
sed 's/^    learning: true/    learning: false/' "$(topo_config_file h2)" >"$TOPO_DIR/h2-nolearn.yaml"
ovx_run h2 apply --dry-run -f "$TOPO_DIR/h2-nolearn.yaml"
((OVX_RC == 3)) || e2e_fail "dry run of a change beside the agent: exit $OVX_RC, want 3: $OVX_OUT"
ovx_run h2 apply -f "$TOPO_DIR/h2-nolearn.yaml"
((OVX_RC == 1)) || e2e_fail "apply beside the agent: exit $OVX_RC, want 1 (refused): $OVX_OUT"
ovx_agent_stop h2
e2e_ok "dry run 0 and 3, apply refused"

e2e_pass
