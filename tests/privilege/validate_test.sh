#!/usr/bin/env bash
# `ovx validate -f FILE` as user nobody (no capabilities, no group, no
# instance): a valid file exits 0 (--json says so), a file with an id out of
# range exits 1 naming FILE:LINE:COLUMN, an interface that does not exist
# passes without --host and fails with it (exit 1 at its line), and the
# JSON error of a broken file goes to stderr.
#   OVX: the binary (default build/ovx)
set -euo pipefail
source "$(dirname "$0")/../cli/check_lib.sh"

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

dir=$(mktemp -d /tmp/ovx-validate.XXXXXX)
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
good=$dir/good.yaml
cat >"$good" <<'YAML'
underlay:
  interface: lo
  address: 192.168.77.1
segments:
  - name: blue-web
    tenant: blue
    encap: vxlan
    id: 5001
    flood: [192.168.77.2]
YAML
sed 's/id: 5001/id: 16777216/' "$good" >"$dir/range.yaml"
range_line=$(grep -n 'id: 16777216' "$dir/range.yaml" | cut -d: -f1)
sed 's/interface: lo/interface: ovxnosuch0/' "$good" >"$dir/noif.yaml"
noif_line=$(grep -n 'interface: ovxnosuch0' "$dir/noif.yaml" | cut -d: -f1)
printf 'underlay: [\n' >"$dir/broken.yaml"
chmod 644 "$dir"/*.yaml

# expect STATUS DESCRIPTION -- COMMAND...: runs COMMAND as nobody; its
# stdout in $out, stderr in $err.
expect() {
	local want=$1 what=$2 rc=0
	shift 3
	out=$(as_nobody "$@" 2>"$dir/err") || rc=$?
	err=$(cat "$dir/err")
	[[ $rc == "$want" ]] || fail "$what: exit $rc, want $want (stdout '$out', stderr '$err')"
}

expect 0 "a valid file" -- "$OVX" validate -f "$good"
[[ $out == "$good: valid"* ]] || fail "a valid file: '$out'"
expect 0 "a valid file, --json" -- "$OVX" validate -f "$good" --json
"$py" -c 'import json, sys
j = json.loads(sys.argv[1])
assert j["valid"] is True and j["segments"] == 1 and j["interfaces_checked"] is False, j' "$out" ||
	fail "validate --json: '$out'"

expect 1 "an id out of range" -- "$OVX" validate -f "$dir/range.yaml"
[[ $err == *"$dir/range.yaml:$range_line:"[0-9]*": "* ]] ||
	fail "an id out of range: no FILE:LINE:COLUMN ($dir/range.yaml:$range_line:) in '$err'"

expect 0 "a missing interface, not checked" -- "$OVX" validate -f "$dir/noif.yaml"
expect 1 "a missing interface, --host" -- "$OVX" validate -f "$dir/noif.yaml" --host
[[ $err == *"$dir/noif.yaml:$noif_line:"[0-9]*": "*"no interface 'ovxnosuch0'"* ]] ||
	fail "a missing interface, --host: '$err'"
expect 0 "lo exists, --host" -- "$OVX" validate -f "$good" --host --json
[[ $out == *'"interfaces_checked":true'* ]] || fail "--host --json: '$out'"

expect 1 "broken YAML, --json" -- "$OVX" validate -f "$dir/broken.yaml" --json
"$py" -c 'import json, sys; assert "error" in json.loads(sys.argv[1])' "$err" ||
	fail "broken YAML --json: stderr '$err' is not a JSON error"
[[ -z $out ]] || fail "broken YAML: stdout '$out'"

expect 1 "a missing file" -- "$OVX" validate -f "$dir/none.yaml"

checks_done "ovx validate as nobody"
