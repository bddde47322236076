#!/usr/bin/env bash
# The Prometheus exporter: `ovx metrics serve` answers /metrics with the text
# format's content type, passes `promtool check metrics`, labels carry no MAC
# or VTEP address, and gauges and counters are exact after known traffic; a
# real Prometheus server (loopback of the host's namespace, temporary config
# and data dir) scrapes it, and PromQL through its HTTP API returns the
# expected totals, the operator's "which tenant drops most" answer and a rate;
# the exporter follows `ovx down` (ovx_up 0) and a new apply.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

for t in prometheus promtool; do
	command -v "$t" >/dev/null || { echo "FAIL: test_metrics: $t missing (scripts/install-deps.sh installs prometheus)" >&2; exit 1; }
done

counters_topology test_metrics "Prometheus exporter, promtool, and a real Prometheus server"
H1_NS=$(topo_host_ns h1)
PROM_PY="$COUNTERS_DIR/prom.py"
EXPORTER_PORT=$((20000 + RANDOM % 10000))
PROM_PORT=$((30000 + RANDOM % 10000))
EXPORTER="http://127.0.0.1:$EXPORTER_PORT"
PROM="http://127.0.0.1:$PROM_PORT"

in_h1() { ip netns exec "$H1_NS" "$@"; }

# metric TEXTFILE SERIES: the value of one exact series line (name{labels}).
metric() {
	awk -v s="$2" '$1 == s { print $2; found = 1 } END { exit !found }' "$1" ||
		e2e_fail "no series $2 in $1"
}

# promql QUERY: the result lines ({labels} value) of an instant query.
promql() {
	in_h1 /usr/bin/python3 "$PROM_PY" query "$PROM" "$1" || e2e_fail "PromQL $1 failed"
}

# expect_promql QUERY WANT: polls (Prometheus scrapes every second) until the
# result is exactly WANT.
expect_promql() {
	local got i
	for ((i = 0; i < 40; i++)); do
		got=$(promql "$1")
		[[ $got == "$2" ]] && { e2e_ok "PromQL $1 -> ${got//$'\n'/; }"; return 0; }
		sleep 0.5
	done
	e2e_fail "PromQL $1 -> '$got', want '$2'"
}

e2e_step "ovx metrics serve on h1, 127.0.0.1:$EXPORTER_PORT"
ovx_bg h1 exporter metrics serve --listen "127.0.0.1:$EXPORTER_PORT" --fdb-interval 0
in_h1 /usr/bin/python3 "$PROM_PY" wait "$EXPORTER/metrics" 10 ||
	e2e_fail "exporter not answering: $(cat "$(topo_bg_out exporter)")"
SCRAPE="$TOPO_DIR/scrape-0.txt"
ctype=$(in_h1 /usr/bin/python3 "$PROM_PY" scrape "$EXPORTER/metrics" "$SCRAPE") ||
	e2e_fail "GET /metrics failed"
[[ $ctype == "text/plain; version=0.0.4; charset=utf-8" ]] || e2e_fail "Content-Type '$ctype'"
e2e_ok "Content-Type: $ctype, $(wc -l <"$SCRAPE") lines"

e2e_step "promtool check metrics"
if ! lint=$(promtool check metrics <"$SCRAPE" 2>&1); then
	e2e_fail "promtool check metrics: $lint"
fi
e2e_ok "promtool: no problems${lint:+ ($lint)}"
if grep -v '^#' "$SCRAPE" | grep -E '([0-9a-f]{2}:){5}[0-9a-f]{2}|192\.168\.77\.' >/dev/null; then
	e2e_fail "a label carries a MAC or VTEP address: $(grep -E '([0-9a-f]{2}:){5}|192\.168\.77\.' "$SCRAPE" | head -3)"
fi
e2e_ok "no MAC or VTEP address in any series"
[[ $(metric "$SCRAPE" "ovx_up") == 1 ]] || e2e_fail "ovx_up is not 1"
metric "$SCRAPE" "ovx_build_info{version=\"0.1.0\",abi=\"$(sed -n 's/^#define OVX_ABI_VERSION \([0-9]*\)/\1/p' "$E2E_LIB_DIR/../../maps/ovx_abi.h")\"}" >/dev/null
for want in "ovx_segment_fdb_entries{tenant=\"blue\",segment=\"$BLUE\"} 2" \
	'ovx_map_entries{map="ovx_fdb"} 4' 'ovx_map_entries{map="ovx_ports"} 2' \
	'ovx_map_entries{map="ovx_segments"} 2' 'ovx_map_entries{map="ovx_vni"} 2' \
	'ovx_map_capacity{map="ovx_fdb"} 1048576'; do
	[[ $(metric "$SCRAPE" "${want% *}") == "${want##* }" ]] ||
		e2e_fail "$want: got $(metric "$SCRAPE" "${want% *}")"
	e2e_ok "$want"
done

e2e_step "Prometheus on h1's loopback ($PROM), scraping every second"
prometheus_start "$H1_NS" "127.0.0.1:$PROM_PORT" "'127.0.0.1:$EXPORTER_PORT'"
in_h1 /usr/bin/python3 "$PROM_PY" wait "$PROM/-/ready" 60 ||
	e2e_fail "Prometheus not ready: $(tail -5 "$(topo_bg_out prometheus)")"
expect_promql 'up{job="ovx"}' '{__name__=up} 1'
expect_promql "ovx_segment_packets_total{segment=\"$BLUE\",direction=\"tx\"}" \
	"{__name__=ovx_segment_packets_total,direction=tx,segment=$BLUE,tenant=blue} 0"

e2e_step "known traffic: 6 pings b1 -> b2, 3 frames from an unknown VTEP, 2 spoofed"
ping_exact b1 "$(topo_vm_ip b2)" 6
inject_from_host h2 3 vxlan --dst-mac "$(host_mac h1)" --src-ip 192.168.77.50
inject_from_vm b1 2 eth --src-mac 02:00:00:00:99:99 --dst-mac "$(topo_vm_mac b2)"
e2e_stat tx h1 "$BLUE" tx_packets
((tx == 6)) || e2e_fail "ovx stats: $BLUE tx_packets $tx, want 6"

e2e_step "PromQL through Prometheus's HTTP API"
expect_promql "sum by (tenant) (ovx_segment_packets_total{direction=\"tx\"})" \
	$'{tenant=blue} 6\n{tenant=red} 0'
expect_promql "sum by (tenant) (ovx_segment_bytes_total{direction=\"rx\"})" \
	$'{tenant=blue} 588\n{tenant=red} 0'
# The operator's question from docs/METRICS.md: which tenant drops most, and why?
expect_promql "topk(1, sum by (tenant, reason) (ovx_segment_drops_total))" \
	"{reason=unknown_vtep,tenant=blue} 3"
expect_promql "sum by (reason) (ovx_segment_drops_total{tenant=\"blue\"})" \
	$'{reason=spoofed_src} 2\n{reason=unknown_vtep} 3'
got=$(promql "rate(ovx_segment_packets_total{segment=\"$BLUE\",direction=\"tx\"}[1m]) > 0")
[[ $got == "{direction=tx,segment=$BLUE,tenant=blue} "* ]] ||
	e2e_fail "rate() of blue's tx packets over 1m: '$got', want one positive series"
e2e_ok "rate(ovx_segment_packets_total{segment=$BLUE,direction=tx}[1m]) -> ${got##* }/s"

e2e_step "the exporter follows ovx down and a new apply"
ovx_down h1 || e2e_fail "ovx down on h1: exit $OVX_RC: $OVX_OUT"
in_h1 /usr/bin/python3 "$PROM_PY" scrape "$EXPORTER/metrics" "$TOPO_DIR/scrape-down.txt" >/dev/null ||
	e2e_fail "GET /metrics after ovx down failed"
[[ $(metric "$TOPO_DIR/scrape-down.txt" ovx_up) == 0 ]] || e2e_fail "ovx_up is not 0 after ovx down"
grep '^ovx_segment_' "$TOPO_DIR/scrape-down.txt" >/dev/null && e2e_fail "segment series after ovx down"
e2e_ok "after ovx down: ovx_up 0, no segment series"
ovx_apply h1 || e2e_fail "apply on h1 again: exit $OVX_RC: $OVX_OUT"
in_h1 /usr/bin/python3 "$PROM_PY" scrape "$EXPORTER/metrics" "$TOPO_DIR/scrape-up.txt" >/dev/null ||
	e2e_fail "GET /metrics after the new apply failed"
[[ $(metric "$TOPO_DIR/scrape-up.txt" ovx_up) == 1 ]] || e2e_fail "ovx_up is not 1 after the new apply"
series="ovx_segment_packets_total{tenant=\"blue\",segment=\"$BLUE\",direction=\"tx\"}"
[[ $(metric "$TOPO_DIR/scrape-up.txt" "$series") == 0 ]] || e2e_fail "$series is not 0 on the new dataplane"
e2e_ok "after a new apply: ovx_up 1, counters of the new dataplane ($series 0)"

e2e_step "the exporter stops on SIGTERM"
topo_bg_stop exporter TERM
in_h1 /usr/bin/python3 "$PROM_PY" scrape "$EXPORTER/metrics" /dev/null >/dev/null 2>&1 &&
	e2e_fail "exporter still answering after SIGTERM"
e2e_ok "exporter gone"

e2e_pass
