#!/usr/bin/env bash
# A large desired state is applied whole or not at all: 50,000 static FDB
# entries go in (each checked in `ovx fdb show --json`); a file with 10 of
# them changed and a malformed MAC at entry 45,000 is refused with its
# FILE:LINE:COLUMN and the entry's path, and the dataplane is left exactly
# as it was; the same file without the error then writes exactly the 10
# differences. Also: the bad file on a host with no instance creates none.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
FDB_FILE="$(dirname "${BASH_SOURCE[0]}")/../../bench/fdb_file.py"
N=50000
BAD_AT=45000

e2e_init test_apply_scale "50k FDB entries: applied whole; an error at entry 45,000 changes nothing"
e2e_build_topology "ovx ovx" "blue:5001"
DIR="$TOPO_DIR/scale"
mkdir -p "$DIR"

# fdb_check HOST ARGS...: HOST's FDB is exactly what fdb_file.py ARGS wrote.
fdb_check() {
	local host=$1 json
	shift
	json=$(ovx_run_stdout "$host" fdb show --json) || e2e_fail "ovx fdb show --json on $host failed"
	/usr/bin/python3 "$FDB_FILE" check "$@" <<<"$json" || e2e_fail "$host's FDB is not the file's"
}

e2e_step "apply $N static FDB entries"
/usr/bin/python3 "$FDB_FILE" write $N "$DIR/good.yaml" || e2e_fail "cannot write $DIR/good.yaml"
ovx_apply h1 "$DIR/good.yaml" || e2e_fail "ovx apply of $N entries: exit $OVX_RC: $OVX_OUT"
e2e_ok "$OVX_OUT"
e2e_ok "$(fdb_check h1 $N)"
before=$(ovx_show_json h1 | ovx_json_canon) || e2e_fail "ovx show --json on h1 failed"
fdb_before=$(ovx_run_stdout h1 fdb show --json) || e2e_fail "ovx fdb show --json on h1 failed"

e2e_step "10 entries changed and a malformed MAC at entry $BAD_AT: refused, nothing written"
line=$(/usr/bin/python3 "$FDB_FILE" write $N "$DIR/bad.yaml" --changed --bad-at $BAD_AT) ||
	e2e_fail "cannot write $DIR/bad.yaml"
want="$DIR/bad.yaml:$line:15: segments[0].remotes[$BAD_AT].mac: malformed MAC address '02:10:zz:00:00:00'"
ovx_apply h1 "$DIR/bad.yaml"
((OVX_RC == 1)) || e2e_fail "ovx apply of the bad file: exit $OVX_RC, want 1: $OVX_OUT"
[[ $OVX_OUT == *"$want"* ]] || e2e_fail "message: '$OVX_OUT', want '$want'"
e2e_ok "exit 1: $want"
after=$(ovx_show_json h1 | ovx_json_canon) || e2e_fail "ovx show --json on h1 failed"
[[ $after == "$before" ]] || e2e_fail "ovx show --json changed: $(diff <(echo "$before") <(echo "$after") | head)"
[[ $(ovx_run_stdout h1 fdb show --json) == "$fdb_before" ]] || e2e_fail "the FDB changed"
e2e_ok "show --json and fdb show --json ($N entries) unchanged"
fdb_check h1 $N >/dev/null

e2e_step "the bad file on a host without an instance creates none"
ovx_apply h2 "$DIR/bad.yaml"
((OVX_RC == 1)) || e2e_fail "ovx apply on h2: exit $OVX_RC, want 1: $OVX_OUT"
[[ ! -e $(ovx_pin_dir h2) ]] || e2e_fail "$(ovx_pin_dir h2) exists after a refused apply"
! ovx_xdp_attached h2 eth1 || e2e_fail "XDP attached to h2's eth1 after a refused apply"
e2e_ok "exit 1, no pins, nothing attached"

e2e_step "the same change without the error: exactly the 10 differences"
/usr/bin/python3 "$FDB_FILE" write $N "$DIR/changed.yaml" --changed || e2e_fail "cannot write $DIR/changed.yaml"
ovx_apply h1 "$DIR/changed.yaml" || e2e_fail "ovx apply: exit $OVX_RC: $OVX_OUT"
[[ $OVX_OUT == *"3 added, 4 changed, 3 removed map entries"* ]] ||
	e2e_fail "want 3 added, 4 changed, 3 removed: $OVX_OUT"
e2e_ok "$OVX_OUT"
e2e_ok "$(fdb_check h1 $N --changed)"

e2e_pass
