#!/usr/bin/env bash
# Invalid input changes nothing: a bad MAC (exit 1, FILE:LINE in the
# message), a missing interface, a missing file and broken YAML are refused
# with exit status 1 both on a fresh host (nothing attached) and on a host
# with a valid config applied (show --json identical before and after).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_bad_input "invalid configs: exit 1, nothing attached, state unchanged"
e2e_build_topology "ovx ovx" "blue:5001"
GOOD=$(topo_config_file h1)
PORT=$(topo_vm_port b1)
BADDIR="$TOPO_DIR/bad"
mkdir -p "$BADDIR"

# variant NAME SED_EXPR: a copy of the valid config with one edit; prints its path.
variant() {
	local f="$BADDIR/$1.yaml"
	sed "$2" "$GOOD" >"$f"
	cmp -s "$f" "$GOOD" && e2e_fail "variant $1: the edit '$2' changed nothing"
	echo "$f"
}
BAD_MAC=$(variant bad-mac "s/^\(\s*mac: \)$(topo_vm_mac b1)\$/\102:00:00:00:01:zz/")
BAD_MAC_LINE=$(grep -n 'mac: 02:00:00:00:01:zz' "$BAD_MAC" | cut -d: -f1)
NO_PORT=$(variant missing-port "s/^\(\s*- interface: \)$PORT\$/\1vm99/")
NO_PORT_LINE=$(grep -n 'interface: vm99' "$NO_PORT" | cut -d: -f1)
NO_UNDERLAY=$(variant missing-underlay "s/^\(  interface: \)eth1\$/\1eth9/")
BROKEN=$(variant broken-yaml "s/^\(\s*flood: \)\[/\1[[/")
MISSING="$BADDIR/does-not-exist.yaml"

# nothing_attached WHEN: fails the test if anything of ovx is on h1.
nothing_attached() {
	! ovx_xdp_attached h1 eth1 || e2e_fail "$1: XDP attached to h1's eth1: $(ip -n "$(topo_host_ns h1)" link show eth1)"
	! ovx_tc_attached h1 "$PORT" || e2e_fail "$1: TC program attached to h1's $PORT"
	[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "$1: $(ovx_pin_dir h1) exists"
}

# expect_invalid FILE WHAT [LINE]: apply exits 1; with LINE the message must
# contain FILE:LINE (or its basename:LINE); without, the location is reported only.
expect_invalid() {
	local file=$1 what=$2 line=${3:-}
	ovx_apply h1 "$file"
	local rc=$OVX_RC msg
	msg=$(head -3 <<<"$OVX_OUT" | tr '\n' ' ')
	((rc == 1)) || e2e_fail "$what: ovx apply exit $rc, want 1: $OVX_OUT"
	if [[ -n $line ]]; then
		if [[ $OVX_OUT == *"$file:$line"* || $OVX_OUT == *"$(basename "$file"):$line"* ]]; then
			e2e_ok "$what: exit 1, message points at $(basename "$file"):$line: $msg"
		else
			e2e_fail "$what: message does not contain $file:$line: $OVX_OUT"
		fi
	else
		e2e_ok "$what: exit 1: $msg"
	fi
}

show_canon() {
	local json
	json=$(ovx_show_json h1) || e2e_fail "ovx --netns h1 show --json failed"
	ovx_json_canon <<<"$json" || e2e_fail "ovx show --json is not JSON: $json"
}

# expect_same BEFORE AFTER WHAT
expect_same() {
	if [[ $1 != "$2" ]]; then
		/usr/bin/python3 - "$1" "$2" <<'EOF'
import difflib, json, sys
a, b = (json.dumps(json.loads(x), indent=1, sort_keys=True).splitlines() for x in sys.argv[1:3])
for l in difflib.unified_diff(a, b, "before", "after", lineterm="", n=1):
    print("      " + l)
EOF
		e2e_fail "$3: ovx show --json changed"
	fi
	e2e_ok "$3: show --json unchanged"
}

e2e_step "fresh host h1: invalid configs are refused and attach nothing"
e2e_info "bad MAC at $(basename "$BAD_MAC"):$BAD_MAC_LINE: $(sed -n "${BAD_MAC_LINE}p" "$BAD_MAC" | sed 's/^ *//')"
expect_invalid "$BAD_MAC" "bad MAC" "$BAD_MAC_LINE"
nothing_attached "after the bad MAC"
expect_invalid "$NO_PORT" "missing port interface vm99"
if [[ $OVX_OUT == *"$NO_PORT:$NO_PORT_LINE"* || $OVX_OUT == *"$(basename "$NO_PORT"):$NO_PORT_LINE"* ]]; then
	e2e_ok "missing port interface: message points at line $NO_PORT_LINE"
else
	e2e_info "note: the missing-interface message does not point at line $NO_PORT_LINE"
fi
nothing_attached "after the missing port interface"
expect_invalid "$NO_UNDERLAY" "missing underlay interface eth9"
nothing_attached "after the missing underlay interface"
expect_invalid "$BROKEN" "broken YAML"
nothing_attached "after the broken YAML"
expect_invalid "$MISSING" "file that does not exist"
nothing_attached "after the missing file"
e2e_ok "h1: no XDP on eth1, no TC on $PORT, no $(ovx_pin_dir h1)"

e2e_step "valid config on h1"
ovx_apply h1 "$GOOD" || e2e_fail "valid apply: exit $OVX_RC: $OVX_OUT"
ovx_xdp_attached h1 eth1 || e2e_fail "valid apply: no XDP on h1's eth1"
ovx_tc_attached h1 "$PORT" || e2e_fail "valid apply: no TC program on h1's $PORT"
e2e_ok "applied: XDP on eth1, TC on $PORT"
before=$(show_canon)
e2e_info "show --json: ${before:0:160}..."

e2e_step "invalid configs on top of the valid one change nothing"
expect_invalid "$BAD_MAC" "bad MAC" "$BAD_MAC_LINE"
expect_same "$before" "$(show_canon)" "after the bad MAC"
expect_invalid "$NO_PORT" "missing port interface vm99"
expect_same "$before" "$(show_canon)" "after the missing port interface"
expect_invalid "$NO_UNDERLAY" "missing underlay interface eth9"
expect_same "$before" "$(show_canon)" "after the missing underlay interface"
expect_invalid "$BROKEN" "broken YAML"
expect_same "$before" "$(show_canon)" "after the broken YAML"
ovx_xdp_attached h1 eth1 || e2e_fail "XDP gone from h1's eth1 after the invalid applies"
ovx_tc_attached h1 "$PORT" || e2e_fail "TC program gone from h1's $PORT after the invalid applies"
e2e_ok "XDP and TC still attached"

e2e_step "the valid config again (idempotence)"
ovx_apply h1 "$GOOD" || e2e_fail "re-apply of the valid config: exit $OVX_RC: $OVX_OUT"
expect_same "$before" "$(show_canon)" "re-apply of the same config"

e2e_pass
