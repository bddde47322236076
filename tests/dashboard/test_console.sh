#!/usr/bin/env bash
# The dashboards: Prometheus' console templates (scripts/prometheus/consoles,
# with Debian's prom.lib and menu.lib) served by a real Prometheus that
# scrapes two real ovx exporters while two tenants' VMs ping each other;
# headless Chromium opens the overview, a tenant's and a segment's page and
# the tenants' series must be drawn: in the graph's legend, with a line that
# rises above zero. The Grafana dashboard's queries go to the same
# Prometheus: none refused, the per-tenant traffic panel shows the tenant.
# DASH_SCREENSHOT=FILE also saves a PNG of the overview (docs/METRICS.md).
set -uo pipefail
DASH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$DASH_DIR/../e2e/lib.sh"
source "$DASH_DIR/../e2e/counters.sh"
REPO=$(cd "$DASH_DIR/../.." && pwd)
DEBIAN_LIBS=/usr/share/doc/prometheus/examples/console_libraries

for t in prometheus chromium; do
	command -v "$t" >/dev/null || { echo "FAIL: test_console: $t missing (scripts/install-deps.sh test installs it)" >&2; exit 1; }
done
for f in prom.lib menu.lib; do
	[[ -f $DEBIAN_LIBS/$f ]] || { echo "FAIL: test_console: $DEBIAN_LIBS/$f missing (package prometheus; a path-exclude of /usr/share/doc drops it)" >&2; exit 1; }
done

# Learning on, no static remotes: the first frames flood, MACs are learned.
counters_topology test_console "console templates in headless Chromium, Grafana queries, real Prometheus" 0
H1_NS=$(topo_host_ns h1)
EXPORTER1=127.0.0.1:$((20000 + RANDOM % 10000))
# h2's exporter on its underlay address: Prometheus in h1 reaches it over
# the underlay bridge, a second instance as a real setup has.
EXPORTER2=$(topo_host_addr h2):$((20000 + RANDOM % 10000))
PROM="http://127.0.0.1:$((30000 + RANDOM % 10000))"
PROM_PY="$DASH_DIR/../e2e/prom.py"
in_h1() { ip netns exec "$H1_NS" "$@"; }

# promql QUERY: the result lines ({labels} value) of an instant query.
promql() { in_h1 /usr/bin/python3 "$PROM_PY" query "$PROM" "$1"; }

# chromium_run NAME ARGS...: headless Chromium in h1 (it reaches
# Prometheus on h1's loopback), its own profile, output in $TOPO_DIR/NAME.
# The virtual time budget lets the page's scripts fetch and draw: virtual
# time stands still while a request is pending.
chromium_run() {
	local name=$1
	shift
	HOME=$TOPO_DIR DBUS_SESSION_BUS_ADDRESS=disabled: in_h1 timeout 90 chromium --headless \
		--no-sandbox --disable-gpu --no-first-run --user-data-dir="$TOPO_DIR/chromium" \
		--window-size=1280,1600 --virtual-time-budget=15000 "$@" >"$TOPO_DIR/$name" 2>"$TOPO_DIR/$name.err"
}

# The last minute, the whole of the traffic (the time control's own
# URL fragment, prom_console.js).
RANGE='#pctc%7B%22duration%22%3A60%2C%22endTime%22%3A0%7D'

# page PATH WANT...: PATH (under /consoles/) rendered by Prometheus (HTTP
# 200, no template error), opened in Chromium; graphs.py checks that each
# WANT (GRAPH_ID=SERIES) is drawn. The DOM stays in $TOPO_DIR/dom-N.html.
PAGE_N=0
page() {
	local path=$1 dom out
	shift
	PAGE_N=$((PAGE_N + 1))
	dom="dom-$PAGE_N.html"
	in_h1 /usr/bin/python3 "$PROM_PY" scrape "$PROM/consoles/$path" "$TOPO_DIR/raw-$PAGE_N.html" >/dev/null ||
		e2e_fail "Prometheus could not render $path: $(tail -3 "$(topo_bg_out prometheus)")"
	chromium_run "$dom" --dump-dom "$PROM/consoles/$path$RANGE" ||
		e2e_fail "chromium on $path: exit $?: $(grep -v -e dbus -e '^\[' "$TOPO_DIR/$dom.err" | tail -5)"
	if ! out=$(/usr/bin/python3 "$DASH_DIR/graphs.py" "$TOPO_DIR/$dom" "$@" 2>&1); then
		printf '%s\n' "$out" | sed 's/^/      /'
		e2e_fail "$path: a series is not drawn (DOM: $TOPO_DIR/$dom)"
	fi
	printf '%s\n' "$out" | sed 's/^/      /'
	e2e_ok "$path: $* drawn"
	PAGE_OUT=$out
}

e2e_step "exporters: h1 on $EXPORTER1, h2 on $EXPORTER2; Prometheus on h1's loopback ($PROM)"
ovx_bg h1 exporter1 metrics serve --listen "$EXPORTER1" --fdb-interval 0
ovx_bg h2 exporter2 metrics serve --listen "$EXPORTER2" --fdb-interval 0
in_h1 /usr/bin/python3 "$PROM_PY" wait "http://$EXPORTER1/metrics" 10 ||
	e2e_fail "h1's exporter not answering: $(cat "$(topo_bg_out exporter1)")"
in_h1 /usr/bin/python3 "$PROM_PY" wait "http://$EXPORTER2/metrics" 10 ||
	e2e_fail "h2's exporter not answering from h1: $(cat "$(topo_bg_out exporter2)")"
mkdir -p "$TOPO_DIR/console_libraries"
# Debian's console libraries beside ovx's, as docs/METRICS.md installs them.
cp "$DEBIAN_LIBS/prom.lib" "$DEBIAN_LIBS/menu.lib" "$REPO/scripts/prometheus/console_libraries/ovx.lib" \
	"$TOPO_DIR/console_libraries/"
prometheus_start "$H1_NS" "${PROM#http://}" "'$EXPORTER1', '$EXPORTER2'" \
	--web.console.templates="$REPO/scripts/prometheus/consoles" \
	--web.console.libraries="$TOPO_DIR/console_libraries"
in_h1 /usr/bin/python3 "$PROM_PY" wait "$PROM/-/ready" 60 ||
	e2e_fail "Prometheus not ready: $(tail -5 "$(topo_bg_out prometheus)")"
e2e_ok "Prometheus ready, consoles from scripts/prometheus/consoles"

e2e_step "traffic: b1 -> b2 and r1 -> r2, 20 pings a second each"
topo_bg ping-blue "$(topo_vm_ns b1)" ping -n -i 0.05 -s 1000 "$(topo_vm_ip b2)"
sleep 5 # red starts later: two different curves
topo_bg ping-red "$(topo_vm_ns r1)" ping -n -i 0.05 -s 500 "$(topo_vm_ip r2)"
for ((i = 0; i < 60; i++)); do
	got=$(promql 'sum by (tenant) (rate(ovx_segment_bytes_total{direction="tx"}[1m])) > 0')
	[[ $got == *"tenant=blue"*"tenant=red"* ]] && break
	sleep 1
done
[[ $got == *"tenant=blue"*"tenant=red"* ]] ||
	e2e_fail "Prometheus has no traffic of both tenants after 60 s: '$got'"
e2e_ok "Prometheus: ${got//$'\n'/; } (bytes/s)"
sleep 30 # a curve, not a dot

e2e_step "the console pages in headless Chromium"
page ovx.html tenant-traffic=blue tenant-traffic=red
for want in "$EXPORTER1" "$EXPORTER2" "ovx-tenant.html?tenant=red" \
	"ovx-segment.html?tenant=blue&amp;segment=$BLUE" "ovx-segment.html?tenant=red&amp;segment=$(topo_tenant_segment red)"; do
	grep -qF -- "$want" "$TOPO_DIR/dom-$PAGE_N.html" || e2e_fail "ovx.html does not list $want"
done
e2e_ok "ovx.html lists both instances, both tenants and their segments"
page ovx-tenant.html?tenant=blue "tenant-traffic=blue-web tx" "tenant-traffic=blue-web rx" \
	"tenant-packets=blue-web tx"
[[ $PAGE_OUT != *red-web* ]] || e2e_fail "tenant blue's page draws red's segment"
e2e_ok "tenant blue's page shows none of red's series"
page "ovx-segment.html?tenant=blue&segment=$BLUE" "segment-traffic=$EXPORTER1 tx" \
	"segment-traffic=$EXPORTER2 rx"

e2e_step "the Grafana dashboard's queries through the same Prometheus"
in_h1 /usr/bin/python3 "$DASH_DIR/dashboard_check.py" query "$REPO/scripts/grafana/ovx-dashboard.json" \
	"$PROM" blue "$BLUE" || e2e_fail "the Grafana dashboard's queries"

if [[ -n ${DASH_SCREENSHOT:-} ]]; then
	e2e_step "screenshot of the overview -> $DASH_SCREENSHOT"
	chromium_run screenshot.out --hide-scrollbars --screenshot="$TOPO_DIR/shot.png" \
		"$PROM/consoles/ovx.html$RANGE" || e2e_fail "chromium --screenshot: exit $?"
	cp "$TOPO_DIR/shot.png" "$DASH_SCREENSHOT" || e2e_fail "cannot write $DASH_SCREENSHOT"
	e2e_ok "$(stat -c %s "$DASH_SCREENSHOT") bytes"
fi

e2e_pass
