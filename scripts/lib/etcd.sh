# shellcheck shell=bash
#
# etcd.sh - etcd members for the cluster tests and the demo (sourced after
# topology.sh). The members run in a namespace of the run (the underlay's,
# on addresses of the underlay network), never as a system service; the
# topology's cleanup ends them with the rest of its processes.

[[ -n ${_OVX_ETCD_SH:-} ]] && return 0
_OVX_ETCD_SH=1

ETCD_ENDPOINTS=""   # comma-separated client URLs of the members
declare -A ETCD_PID # member name -> PID
declare -A ETCD_CLIENT # member name -> client URL
ETCD_NS=""
ETCD_CLUSTER=""
# TLS: a directory with ca.crt, server.crt/.key (the members', for clients
# and peers: naming the members' address) and client.crt/.key (what these
# helpers identify as, once RBAC is on: a root user's). Empty: plain http.
ETCD_TLS_DIR=${ETCD_TLS_DIR:-}

# _etcd_scheme: the URL scheme of clients and peers.
_etcd_scheme() { [[ -n $ETCD_TLS_DIR ]] && echo https || echo http; }

# etcd_curl ARGS...: curl in the members' namespace, with the client
# certificate when TLS is on.
etcd_curl() {
	local tls=()
	[[ -n $ETCD_TLS_DIR ]] && tls=(--cacert "$ETCD_TLS_DIR/ca.crt" --cert "$ETCD_TLS_DIR/client.crt"
		--key "$ETCD_TLS_DIR/client.key")
	ip netns exec "$ETCD_NS" curl -s --max-time 1 "${tls[@]}" "$@"
}

# etcdctl_run ARGS...: etcdctl against every member, from their namespace,
# with the client certificate when TLS is on.
etcdctl_run() {
	local tls=()
	[[ -n $ETCD_TLS_DIR ]] && tls=(--cacert "$ETCD_TLS_DIR/ca.crt" --cert "$ETCD_TLS_DIR/client.crt"
		--key "$ETCD_TLS_DIR/client.key")
	ip netns exec "$ETCD_NS" etcdctl --endpoints "$ETCD_ENDPOINTS" "${tls[@]}" "$@"
}

# etcd_start NS ADDR N: an N-member cluster in namespace NS, every member on
# ADDR (added to br0 when missing), client ports 2379, 2381, ..., peers one
# above; data under $TOPO_DIR. Returns once every member answers /health.
etcd_start() {
	local ns=$1 addr=$2 n=$3 i name client peer
	ETCD_NS=$ns
	ip -n "$ns" addr show dev br0 | grep -q " $addr/" ||
		topo_do ip -n "$ns" addr add "$addr/24" dev br0
	topo_do ip -n "$ns" link set lo up
	ETCD_CLUSTER="" ETCD_ENDPOINTS=""
	local scheme
	scheme=$(_etcd_scheme)
	for ((i = 1; i <= n; i++)); do
		ETCD_CLUSTER+="${ETCD_CLUSTER:+,}m$i=$scheme://$addr:$((2378 + 2 * i))"
		ETCD_ENDPOINTS+="${ETCD_ENDPOINTS:+,}$scheme://$addr:$((2377 + 2 * i))"
	done
	for ((i = 1; i <= n; i++)); do
		etcd_start_member "m$i" "$addr" new
	done
	for ((i = 1; i <= n; i++)); do
		etcd_wait_healthy "m$i" || return 1
	done
	topo_log "etcd: $n members in $ns at $ETCD_ENDPOINTS"
}

# etcd_start_member NAME ADDR STATE: (re)starts one member (STATE new or
# existing) with its data directory as it is.
etcd_start_member() {
	local name=$1 addr=$2 state=$3 i=${1#m} scheme tls=()
	scheme=$(_etcd_scheme)
	local client="$scheme://$addr:$((2377 + 2 * i))" peer="$scheme://$addr:$((2378 + 2 * i))"
	ETCD_CLIENT[$name]=$client
	[[ -n $ETCD_TLS_DIR ]] && tls=(--cert-file "$ETCD_TLS_DIR/server.crt"
		--key-file "$ETCD_TLS_DIR/server.key" --trusted-ca-file "$ETCD_TLS_DIR/ca.crt"
		--client-cert-auth --peer-cert-file "$ETCD_TLS_DIR/server.crt"
		--peer-key-file "$ETCD_TLS_DIR/server.key" --peer-trusted-ca-file "$ETCD_TLS_DIR/ca.crt"
		--peer-client-cert-auth)
	ip netns exec "$ETCD_NS" etcd --name "$name" --data-dir "$TOPO_DIR/etcd-$name" "${tls[@]}" \
		--listen-client-urls "$client" --advertise-client-urls "$client" \
		--listen-peer-urls "$peer" --initial-advertise-peer-urls "$peer" \
		--initial-cluster "$ETCD_CLUSTER" --initial-cluster-state "$state" \
		--initial-cluster-token "ovx-$TOPO_ID" --heartbeat-interval 50 --election-timeout 500 \
		>>"$TOPO_DIR/etcd-$name.log" 2>&1 </dev/null &
	ETCD_PID[$name]=$!
	TOPO_PIDS+=("$!")
}

# etcd_wait_healthy NAME: 0 once the member says it is healthy (20 s at most).
etcd_wait_healthy() {
	local i
	for ((i = 0; i < 200; i++)); do
		etcd_curl "${ETCD_CLIENT[$1]}/health" 2>/dev/null |
			grep -q '"health":"true"' && return 0
		sleep 0.1
	done
	topo_warn "etcd member $1 not healthy: $(tail -3 "$TOPO_DIR/etcd-$1.log")"
	return 1
}

# etcd_stop NAME [SIGNAL]: stops one member (default KILL) and reaps it.
etcd_stop() {
	local pid=${ETCD_PID[$1]:-}
	[[ -n $pid ]] || return 0
	kill "-${2:-KILL}" "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "ETCD_PID[$1]"
}

# etcd_leader: the name of the member that leads now.
etcd_leader() {
	local name
	for name in "${!ETCD_PID[@]}"; do
		etcd_curl "${ETCD_CLIENT[$name]}/v3/maintenance/status" \
			-X POST -d '{}' 2>/dev/null | /usr/bin/python3 -c '
import json, sys
s = json.load(sys.stdin)
sys.exit(0 if s.get("leader") == s.get("header", {}).get("member_id") else 1)' && {
			echo "$name"
			return 0
		}
	done
	return 1
}
