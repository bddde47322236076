#!/usr/bin/env bash
# --json everywhere: one global flag, before or after the verb; every verb's
# output with it is JSON (one object, or one per line for streams); show and
# stats of a live instance with traffic are valid against their schemas
# (docs/schema/, checked with python3-jsonschema); errors (usage, a bad
# file, the system) are one JSON object on stderr, a bad file's with its
# file, line, column and key; --log-format json makes the agent's log one
# JSON object per line.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
CHECK=(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/json_check.py")
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null ||
	{ echo "FAIL: python3-jsonschema missing (scripts/install-deps.sh test)" >&2; exit 1; }

e2e_init test_json_output "global --json, JSON for every verb and error, show/stats schemas, JSON logs"
e2e_build_topology "ovx ovx" "blue:5001"
BLUE=$(topo_tenant_segment blue)
NS1=$(topo_host_ns h1)
H2=$(topo_host_addr h2)

# json_out ARGS...: ovx's stdout in $OUT, stderr in $ERR, status in $RC.
json_out() {
	local errf="$TOPO_DIR/stderr"
	OUT=$(timeout "$OVX_TIMEOUT" "$OVX" "$@" 2>"$errf")
	RC=$?
	ERR=$(cat "$errf")
}
# expect_object WHAT ARGS...: exit 0 and one JSON object on stdout.
expect_object() {
	local what=$1
	shift
	json_out "$@"
	((RC == 0)) || e2e_fail "$what: exit $RC: $OUT $ERR"
	"${CHECK[@]}" object <<<"$OUT" || e2e_fail "$what: stdout is not one JSON object"
}
# expect_error STATUS WHAT [--located] -- ARGS...: exit STATUS, nothing on
# stdout, one JSON error object on stderr.
expect_error() {
	local want=$1 what=$2 located=""
	shift 2
	[[ $1 == --located ]] && { located=--located; shift; }
	[[ $1 == -- ]] && shift
	json_out "$@"
	((RC == want)) || e2e_fail "$what: exit $RC, want $want: $OUT $ERR"
	[[ -z $OUT ]] || e2e_fail "$what: stdout not empty: $OUT"
	"${CHECK[@]}" error $located <<<"$ERR" || e2e_fail "$what: stderr is not the JSON error: $ERR"
	[[ $(ovx_json_get status <<<"$ERR") == "$want" ]] || e2e_fail "$what: status field: $ERR"
}

e2e_step "usage errors as JSON, whichever side of the verb --json is on"
expect_error 1 "unknown flag" -- --json show --bogus
expect_error 1 "unknown flag, --json after" -- show --bogus --json
expect_error 1 "unknown verb" -- --json nosuchverb
expect_error 1 "missing value" -- --netns "$NS1" apply --json -f
e2e_ok "$ERR"

e2e_step "a bad file: the JSON error carries file, line, column and key"
BAD="$TOPO_DIR/bad.yaml"
sed 's/^\(    id:\).*/\1 99999999/' "$(topo_config_file h1)" >"$BAD"
grep -q 'id: 99999999' "$BAD" || e2e_fail "could not break $BAD"
line=$(grep -n 'id: 99999999' "$BAD" | cut -d: -f1)
expect_error 1 "id out of range" --located -- --netns "$NS1" --json apply -f "$BAD"
[[ $(ovx_json_get file <<<"$ERR") == "$BAD" && $(ovx_json_get line <<<"$ERR") == "$line" &&
	$(ovx_json_get column <<<"$ERR") == 9 && $(ovx_json_get key <<<"$ERR") == "segments[0].id" ]] ||
	e2e_fail "want $BAD:$line:9 key segments[0].id: $ERR"
[[ $(ovx_json_get error <<<"$ERR") == "$BAD:$line:9: segments[0].id: "* ]] ||
	e2e_fail "the message lost its FILE:LINE:COLUMN: $ERR"
e2e_ok "$ERR"
printf 'underlay:\n  interface: [eth1\n' >"$TOPO_DIR/syntax.yaml"
expect_error 1 "YAML syntax" --located -- --netns "$NS1" apply -f "$TOPO_DIR/syntax.yaml" --json
e2e_ok "$ERR"
expect_error 1 "validate a bad file" --located -- --json --netns "$NS1" agent -f "$BAD"
e2e_ok "agent -f: $ERR"
[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "a refused apply left pins"

e2e_step "apply: --json before and after the verb"
_ovx_mark_applied h1
_ovx_mark_applied h2
expect_object "apply h1" --json --netns "$NS1" apply -f "$(topo_config_file h1)"
[[ $(ovx_json_get loaded <<<"$OUT") == true ]] || e2e_fail "apply h1: not loaded: $OUT"
expect_object "apply h2" --netns "$(topo_host_ns h2)" apply -f "$(topo_config_file h2)" --json
e2e_expect_ping b1 "$(topo_vm_ip b2)"

e2e_step "show and stats of the live instance against their schemas"
for args in "--netns $NS1 --json show" "--netns $NS1 show --json" "show --netns $NS1 --json"; do
	# shellcheck disable=SC2086 # words
	json_out $args
	((RC == 0)) || e2e_fail "ovx $args: exit $RC: $ERR"
	"${CHECK[@]}" schema ovx-show.v1.schema.json <<<"$OUT" || e2e_fail "ovx $args: against the schema"
done
[[ $(ovx_json_get schema <<<"$OUT") == ovx.show/1 ]] || e2e_fail "show: no schema field: $OUT"
[[ $OUT == *'"learned": true'* ]] || e2e_fail "show: no learned entry after the ping: $OUT"
json_out --netns "$NS1" --json stats
((RC == 0)) || e2e_fail "stats: exit $RC: $ERR"
"${CHECK[@]}" schema ovx-stats.v1.schema.json <<<"$OUT" || e2e_fail "stats against the schema"
[[ $(ovx_json_get schema <<<"$OUT") == ovx.stats/1 ]] || e2e_fail "stats: no schema field: $OUT"
json_out --netns "$NS1" stats --segment "$BLUE" --json
"${CHECK[@]}" schema ovx-stats.v1.schema.json <<<"$OUT" || e2e_fail "stats --segment against the schema"
json_out --netns "$NS1" stats --watch --interval 0.2 --count 2 --json
((RC == 0)) || e2e_fail "stats --watch: exit $RC: $ERR"
"${CHECK[@]}" schema ovx-stats-watch.v1.schema.json --lines <<<"$OUT" ||
	e2e_fail "stats --watch lines against the schema"
(($(wc -l <<<"$OUT") == 2)) || e2e_fail "stats --watch --count 2: $(wc -l <<<"$OUT") lines"
e2e_ok "show, stats, stats --segment, stats --watch: valid"

e2e_step "the schemas catch a renamed or a missing field"
json_out --netns "$NS1" --json show
sed 's/"inner_mtu"/"inner_mtU"/' <<<"$OUT" | "${CHECK[@]}" schema ovx-show.v1.schema.json 2>/dev/null &&
	e2e_fail "the show schema took a renamed field"
/usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); del d["fdb_capacity"]; print(json.dumps(d))' \
	<<<"$OUT" | "${CHECK[@]}" schema ovx-show.v1.schema.json 2>/dev/null &&
	e2e_fail "the show schema took a missing field"
json_out --netns "$NS1" --json stats
sed 's/"rx_packets"/"rx_pkts"/' <<<"$OUT" | "${CHECK[@]}" schema ovx-stats.v1.schema.json 2>/dev/null &&
	e2e_fail "the stats schema took a renamed field"
e2e_ok "renamed and missing fields refused"

e2e_step "every verb's output with --json is JSON"
PORT2=ovxj$TOPO_ID
ip -n "$NS1" link add "$PORT2" type veth peer name "${PORT2}p" || e2e_fail "veth $PORT2"
ip -n "$NS1" link set "$PORT2" up
n=0
for args in "version" "status" "segment show" "segment show $BLUE" "port show" "flood show" \
	"fdb show" "fdb show --segment $BLUE" "export" \
	"segment add jseg --tenant blue --vni 7001" "port add $PORT2 --segment jseg --mac 02:00:00:00:77:01" \
	"flood add $H2 --segment jseg" "fdb add 02:00:00:00:77:02 --segment jseg --vtep $H2" \
	"fdb del 02:00:00:00:77:02 --segment jseg" "flood del $H2 --segment jseg" "port del $PORT2" \
	"segment del jseg" "upgrade" "offload check" "offload detach --interface eth1"; do
	# Each verb once (add and del change the instance), --json on
	# alternate sides.
	# shellcheck disable=SC2086
	if ((n % 2)); then
		expect_object "ovx $args --json" --netns "$NS1" $args --json
	else
		expect_object "ovx --json $args" --json --netns "$NS1" $args
	fi
	n=$((n + 1))
done
e2e_ok "$n verbs, --json before or after: one object each"
json_out --netns "$NS1" export --json
echo "$OUT" >"$TOPO_DIR/export.json"
expect_object "apply the exported JSON" --netns "$NS1" --json apply -f "$TOPO_DIR/export.json"
[[ $(ovx_json_get added <<<"$OUT") == 0 && $(ovx_json_get removed <<<"$OUT") == 0 &&
	$(ovx_json_get changed <<<"$OUT") == 0 ]] || e2e_fail "export --json does not apply as is: $OUT"
e2e_ok "export --json is a desired-state file (YAML reads JSON): no changes"
expect_error 1 "offload stats without the program" -- --netns "$NS1" offload stats --json
expect_error 1 "a segment that is not there" -- --netns "$NS1" --json segment show nosuch
expect_error 1 "cluster without endpoints" -- --json cluster nodes
json_out --netns "$NS1" --json cluster status
if ((RC == 0)); then "${CHECK[@]}" object <<<"$OUT"; else "${CHECK[@]}" error <<<"$ERR"; fi ||
	e2e_fail "cluster status --json: exit $RC: $OUT $ERR"
e2e_ok "errors: $ERR"

# bg NAME ARGS...: ovx in the background, stdout and stderr apart.
bg() {
	local name=$1
	shift
	"$OVX" "$@" >"$TOPO_DIR/$name.json" 2>"$TOPO_DIR/$name.err" </dev/null &
	TOPO_PIDS+=("$!")
	TOPO_BG_PID[$name]=$!
}
wait_for() { # FILE PATTERN: up to 10 s
	local i
	for ((i = 0; i < 100; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
e2e_step "streams: trace and metrics serve, one object per line"
bg trace --netns "$NS1" --json trace --count 2
wait_for "$TOPO_DIR/trace.err" tracing || e2e_fail "trace did not start: $(cat "$TOPO_DIR/trace.err")"
topo_ping b1 "$(topo_vm_ip b2)" 4 >/dev/null
wait "${TOPO_BG_PID[trace]}" || e2e_fail "trace --count 2: exit $?: $(cat "$TOPO_DIR/trace.err")"
"${CHECK[@]}" lines <"$TOPO_DIR/trace.json" || e2e_fail "trace --json: $(cat "$TOPO_DIR/trace.json")"
(($(wc -l <"$TOPO_DIR/trace.json") == 2)) || e2e_fail "trace --count 2: $(cat "$TOPO_DIR/trace.json")"
mport=$((20000 + RANDOM % 20000))
bg metrics --netns "$NS1" metrics serve --listen "127.0.0.1:$mport" --json
wait_for "$TOPO_DIR/metrics.json" listen || e2e_fail "metrics serve --json said nothing: $(cat "$TOPO_DIR/metrics.err")"
topo_bg_stop metrics
"${CHECK[@]}" lines <"$TOPO_DIR/metrics.json" || e2e_fail "metrics serve --json: $(cat "$TOPO_DIR/metrics.json")"
e2e_ok "trace: $(head -1 "$TOPO_DIR/trace.json")"
e2e_ok "metrics: $(cat "$TOPO_DIR/metrics.json")"

e2e_step "the agent's log with --log-format json: one object per line"
OVX_AGENT_READY='"message":"applied ' ovx_agent_start h2 "$(topo_config_file h2)" \
	--log-format json --log-level debug --interval 0.5 ||
	e2e_fail "agent did not start: $(cat "$(ovx_agent_log h2)")"
sleep 1
ovx_agent_stop h2 || e2e_fail "agent exit $?"
log=$(ovx_agent_log h2)
"${CHECK[@]}" lines <"$log" || e2e_fail "agent log is not JSON lines: $(cat "$log")"
/usr/bin/python3 - "$log" "$(topo_host_ns h2)" <<'EOF' || e2e_fail "agent log lines lack fields: $(head -3 "$log")"
import json, sys
levels = set()
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert {"time", "level", "message"} <= d.keys(), d
    # libbpf's and libxdp's own lines name their source instead.
    assert d.get("instance") == sys.argv[2] or d.get("source") in ("libbpf", "libxdp"), d
    levels.add(d["level"])
assert "debug" in levels and "info" in levels, levels
EOF
e2e_ok "$(wc -l <"$log") lines, e.g. $(head -1 "$log")"
expect_error 1 "bad --log-level" -- --json --log-level loud version

e2e_step "down --json"
expect_object "down" --netns "$NS1" down --json
[[ $(ovx_json_get down <<<"$OUT") == true ]] || e2e_fail "down: $OUT"
e2e_pass
