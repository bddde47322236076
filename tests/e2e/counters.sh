# shellcheck shell=bash
#
# counters.sh - helpers of the counter, trace and metrics tests (sourced
# after lib.sh): stats snapshots, exact delta checks, crafted frames.

COUNTERS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# stats_snapshot HOST NAME: `ovx stats --json` of HOST into $TOPO_DIR/NAME.json.
stats_snapshot() {
	local file="$TOPO_DIR/$2.json"
	ovx_stats_json "$1" >"$file" 2>"$file.err" ||
		e2e_fail "ovx stats --json on $1: $(cat "$file.err")"
	printf '%s\n' "$file"
}

# expect_deltas HOST BEFORE AFTER [--ports] EXPECT...: exact counter deltas
# between two snapshots (see stats_delta.py); every other counter unchanged.
expect_deltas() {
	local host=$1 before=$2 after=$3
	shift 3
	if ! /usr/bin/python3 "$COUNTERS_DIR/stats_delta.py" "$before" "$after" "$@"; then
		ovx_print_stats "$host"
		e2e_fail "$host: counters do not match the traffic sent"
	fi
	e2e_ok "$host: every counter moved exactly as expected"
}

# pings_exact SEGMENT N FRAME TAG: N pings b1 (h1) -> b2 (h2) of FRAME bytes
# each; every counter of both hosts moves exactly: the segment's both ways,
# each VM's port both ways, nothing else. TAG names the snapshots.
pings_exact() {
	local seg=$1 n=$2 frame=$3 tag=$4 h1_0 h2_0 h1_1 h2_1 h before after port
	h1_0=$(stats_snapshot h1 "h1-$tag-0")
	h2_0=$(stats_snapshot h2 "h2-$tag-0")
	ping_exact b1 "$(topo_vm_ip b2)" "$n"
	sleep 0.3
	h1_1=$(stats_snapshot h1 "h1-$tag-1")
	h2_1=$(stats_snapshot h2 "h2-$tag-1")
	for h in h1 h2; do
		before=${h}_0 after=${h}_1 port=$(topo_vm_port b1)
		[[ $h == h2 ]] && port=$(topo_vm_port b2)
		expect_deltas "$h" "${!before}" "${!after}" --ports \
			"segment:$seg:tx_packets=$n" "segment:$seg:tx_bytes=$((n * frame))" \
			"segment:$seg:rx_packets=$n" "segment:$seg:rx_bytes=$((n * frame))" \
			"port:$port:rx_packets=$n" "port:$port:rx_bytes=$((n * frame))" \
			"port:$port:tx_packets=$n" "port:$port:tx_bytes=$((n * frame))"
	done
}

# host_mac HOST [IFACE]: the MAC of HOST's IFACE (eth1).
host_mac() {
	ip -n "$(topo_host_ns "$1")" -o link show dev "${2:-eth1}" |
		sed -n 's/.*link\/ether \([0-9a-f:]*\).*/\1/p'
}

# inject_from_host HOST COUNT KIND [inject.py options]: crafted frames out of
# HOST's eth1 (outer source MAC: eth1's).
inject_from_host() {
	local host=$1 count=$2 kind=$3 out
	shift 3
	out=$(topo_host_exec "$host" /usr/bin/python3 "$COUNTERS_DIR/inject.py" eth1 "$count" \
		"$kind" --src-mac "$(host_mac "$host")" "$@" 2>&1) ||
		e2e_fail "inject $kind from $host: $out"
	e2e_info "$host: $out"
}

# inject_from_vm VM COUNT KIND [inject.py options]: crafted frames out of VM's eth0.
inject_from_vm() {
	local vm=$1 count=$2 kind=$3 out
	shift 3
	out=$(topo_vm_exec "$vm" /usr/bin/python3 "$COUNTERS_DIR/inject.py" eth0 "$count" "$kind" \
		"$@" 2>&1) || e2e_fail "inject $kind from $vm: $out"
	e2e_info "$vm: $out"
}

# ping_exact VM DST COUNT: COUNT pings, every one answered.
ping_exact() {
	local got
	got=$(topo_ping_received "$1" "$2" "$3")
	((got == $3)) || e2e_fail "$1 -> $2: $got/$3 replies, want all"
	e2e_ok "$1 -> $2: $3/$3 replies"
}

# static_neighbours: every VM knows every other VM of its tenant without ARP,
# so that only the traffic a test sends crosses the overlay.
static_neighbours() {
	local vm peer
	for vm in $(topo_vms); do
		for peer in $(topo_vms "$(topo_vm_tenant "$vm")"); do
			[[ $vm == "$peer" ]] || topo_neigh_set "$vm" "$peer"
		done
	done
}

# ovx_bg HOST NAME ARGS...: `ovx --netns <HOST's namespace> ARGS` in the
# background (not under `ip netns exec`, whose private /sys hides the BPF
# filesystem), output in $TOPO_DIR/NAME.out; stopped like topo_bg's.
ovx_bg() {
	local ns name=$2 out
	ns=$(topo_host_ns "$1") || e2e_fail "ovx_bg: unknown host $1"
	shift 2
	out="$TOPO_DIR/$name.out"
	"$OVX" --netns "$ns" "$@" >"$out" 2>&1 </dev/null &
	TOPO_PIDS+=("$!")
	TOPO_BG_PID[$name]=$!
	TOPO_BG_OUT[$name]=$out
}

# counters_topology NAME DESCRIPTION [STATIC]: the topology of the counter,
# trace and metrics tests: hosts h1 and h2, tenants blue and red, static
# neighbours (no ARP), and unless STATIC is 0 static remotes (no flooding, no
# learning); ovx applied.
counters_topology() {
	export TOPO_STATIC_REMOTES=${3:-1}
	e2e_init "$1" "$2"
	e2e_build_topology "ovx ovx" "blue:5001 red:5002"
	e2e_apply_all
	static_neighbours
	BLUE=$(topo_tenant_segment blue)
}

# prometheus_start NS LISTEN TARGETS [ARGS...]: a real Prometheus in NS on
# LISTEN (ADDR:PORT) scraping TARGETS ('a:1', 'b:2') every second, its data
# in $TOPO_DIR (background job "prometheus"); ARGS go to prometheus too.
prometheus_start() {
	local ns=$1 listen=$2 targets=$3
	shift 3
	mkdir -p "$TOPO_DIR/prom-data"
	cat >"$TOPO_DIR/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ovx
    static_configs:
      - targets: [$targets]
YAML
	topo_bg prometheus "$ns" prometheus --config.file="$TOPO_DIR/prometheus.yml" \
		--storage.tsdb.path="$TOPO_DIR/prom-data" --web.listen-address="$listen" \
		--log.level=warn "$@"
}
