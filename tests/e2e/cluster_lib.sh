# shellcheck shell=bash
# cluster_lib.sh - the cluster tests' shared steps (sourced after lib.sh):
# etcd members on the underlay network, cluster.yaml from the topology's
# tenants, one cluster-mode host file per ovx host, agents started on them.
source "$E2E_LIB_DIR/../../scripts/lib/etcd.sh"

CLUSTER_ETCD_ADDR=192.168.77.250

# cluster_write_segments FILE: the topology's tenants as cluster segments.
cluster_write_segments() {
	local t
	{
		echo "segments:"
		for t in "${TOPO_TENANTS[@]}"; do
			echo "  - name: $(topo_tenant_segment "$t")"
			echo "    tenant: $t"
			echo "    encap: $(topo_tenant_encap "$t")"
			echo "    id: $(topo_tenant_vni "$t")"
		done
	} >"$1"
}

# cluster_up KINDS TENANTS [MEMBERS]: the topology (e2e_build_topology), an
# etcd of MEMBERS members (default 1) on the underlay network, and the
# topology's tenants as the cluster's segments (`ovx cluster apply`).
cluster_up() {
	e2e_build_topology "$1" "$2"
	etcd_start "$TOPO_UNDERLAY_NS" "$CLUSTER_ETCD_ADDR" "${3:-1}" || e2e_fail "etcd did not start"
	cluster_write_segments "$TOPO_DIR/cluster.yaml"
	cluster_ovx apply -f "$TOPO_DIR/cluster.yaml" >/dev/null || e2e_fail "cluster apply"
}

# cluster_host_file HOST [LEASE_TTL] [VM...]: HOST's cluster-mode file
# (path on stdout); its ports are VM... (default: the VMs on HOST; "none":
# no port). CLUSTER_NODE names the node (default HOST); CLUSTER_TLS (a YAML
# map: ca, cert, key) and CLUSTER_USER with CLUSTER_PASSWORD_FILE say how it
# reaches etcd.
cluster_host_file() {
	local h=$1 ttl=${2:-5} f vm
	shift 2
	local vms=("$@")
	((${#vms[@]})) || vms=($(topo_vms "" "$h"))
	[[ ${vms[0]:-} == none ]] && vms=()
	f="$TOPO_DIR/cluster-$h.yaml"
	{
		echo "cluster:"
		echo "  endpoints: [${ETCD_ENDPOINTS//,/, }]"
		echo "  node: ${CLUSTER_NODE:-$h}"
		echo "  lease_ttl: $ttl"
		[[ -n ${CLUSTER_MOBILITY:-} ]] && echo "  mobility: $CLUSTER_MOBILITY"
		[[ -n ${CLUSTER_TLS:-} ]] && echo "  tls: $CLUSTER_TLS"
		[[ -n ${CLUSTER_USER:-} ]] && echo "  user: $CLUSTER_USER" &&
			echo "  password_file: $CLUSTER_PASSWORD_FILE"
		echo "underlay:"
		echo "  interface: eth1"
		echo "  address: $(topo_host_addr "$h")"
		echo "  mode: ${TOPO_XDP_MODE:-native}"
		echo "ports:"
		for vm in "${vms[@]}"; do
			echo "  - {interface: $(topo_vm_port "$vm"), segment: $(topo_tenant_segment "$(topo_vm_tenant "$vm")"), mac: \"$(topo_vm_mac "$vm")\", ips: [$(topo_vm_ip "$vm")]}"
		done
		((${#vms[@]})) || echo "  []"
	} >"$f.tmp" && mv "$f.tmp" "$f"
	echo "$f"
}

# cluster_agent_start HOST FILE: the cluster agent of HOST, returns once
# synced. CLUSTER_INTERVAL: its timer (default 1 s; a whole apply each).
cluster_agent_start() {
	OVX_AGENT_FLAG=--cluster OVX_AGENT_READY='synced at revision' ovx_agent_start "$1" "$2" \
		--interval "${CLUSTER_INTERVAL:-1}"
}

# cluster_agent_spawn HOST FILE / cluster_agent_wait HOST: the same in two
# halves, so that many agents start at once.
cluster_agent_spawn() {
	OVX_AGENT_FLAG=--cluster OVX_AGENT_READY='synced at revision' ovx_agent_spawn "$1" "$2" \
		--interval "${CLUSTER_INTERVAL:-1}"
}
cluster_agent_wait() { OVX_AGENT_READY='synced at revision' ovx_agent_wait_ready "$1" "${2:-300}"; }

# cluster_ovx ARGS...: `ovx cluster ARGS --endpoints ...` from the etcd
# namespace (the root namespace cannot reach the underlay network).
cluster_ovx() {
	ip netns exec "$ETCD_NS" "$OVX" cluster "$@" --endpoints "$ETCD_ENDPOINTS"
}

# cluster_flood HOST SEGMENT: the segment's flood list on HOST, sorted, one line.
cluster_flood() {
	"$OVX" --netns "$(topo_host_ns "$1")" show --json | /usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["segments"]:
    if s["name"] == sys.argv[1]:
        print(" ".join(sorted(s.get("flood", []))))' "$2"
}

# cluster_flood_is HOST SEGMENT "ADDR...": 0 when the flood list is exactly that.
cluster_flood_is() { [[ $(cluster_flood "$1" "$2") == "$3" ]]; }

# cluster_wait WHAT CMD...: 0 once CMD succeeds (10 s at most).
cluster_wait() {
	local what=$1 i
	shift
	for ((i = 0; i < 100; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	e2e_fail "timed out waiting: $what
$(for h in $(topo_hosts ovx); do echo "$h: $(cat "/run/ovx/$(ovx_instance "$h")/cluster.json" 2>/dev/null | tr -d '\n ' | head -c 1500)"; done)"
}

# A VM that moves between hosts and keeps its MAC and IP (the mobility test
# and the demo). cluster_vm_movable VM: the VM's address moves onto a
# bridge inside it (its MAC the VM's), so that it can have a NIC on two
# hosts at once while it moves; NIC 0 is its eth0 on its host's port.
cluster_vm_movable() {
	MOVE_VM=$1
	MOVE_NS=$(topo_vm_ns "$1") MOVE_MAC=$(topo_vm_mac "$1") MOVE_IP=$(topo_vm_ip "$1")
	MOVE_SEG=$(topo_tenant_segment "$(topo_vm_tenant "$1")") MOVE_MTU=$(topo_vm_mtu "$1")
	ip -n "$MOVE_NS" link add xbr address "$MOVE_MAC" mtu "$MOVE_MTU" type bridge stp_state 0 forward_delay 0
	ip -n "$MOVE_NS" addr del "$MOVE_IP/24" dev eth0
	ip -n "$MOVE_NS" link set eth0 address 02:ff:00:00:00:01 master xbr
	ip -n "$MOVE_NS" link set xbr up
	ip -n "$MOVE_NS" addr add "$MOVE_IP/24" dev xbr
	NIC_HOST[0]=$(topo_vm_host "$1") NIC_PORT[0]=$(topo_vm_port "$1") NIC_VM[0]=eth0
}

# cluster_vm_host_file HOST [PORT]: HOST's file (path on stdout), with the
# moving VM's NIC on PORT when given; its lease TTL MOVE_TTL (default 3 s).
cluster_vm_host_file() {
	local h=$1 f vm
	local others=()
	for vm in $(topo_vms "" "$h"); do [[ $vm != "$MOVE_VM" ]] && others+=("$vm"); done
	((${#others[@]})) || others=(none)
	f=$(cluster_host_file "$h" "${MOVE_TTL:-3}" "${others[@]}")
	if [[ -n ${2:-} ]]; then
		sed -i '/^ports:/,$ { /^  \[\]$/d }' "$f"
		echo "  - {interface: $2, segment: $MOVE_SEG, mac: \"$MOVE_MAC\", ips: [$MOVE_IP]}" >>"$f"
	fi
	echo "$f"
}

# cluster_vm_vtep_on HOST: the VTEP HOST's FDB sends the moving VM's MAC to
# ("local": a port of HOST).
cluster_vm_vtep_on() {
	"$OVX" --netns "$(topo_host_ns "$1")" fdb show --segment "$MOVE_SEG" --json | /usr/bin/python3 -c '
import json, sys
for e in json.load(sys.stdin)["fdb"]:
    if e["mac"] == sys.argv[1]:
        print(e.get("vtep") or "local")' "$MOVE_MAC"
}

# cluster_vm_plug N HOST: the VM's NIC N, a veth from its bridge to a new
# port vmxN on HOST.
cluster_vm_plug() {
	local n=$1 h=$2 port="vmx$1"
	ip link add "xn$n" netns "$MOVE_NS" mtu "$MOVE_MTU" type veth peer name "$port" \
		netns "$(topo_host_ns "$h")" mtu "$MOVE_MTU"
	ip -n "$MOVE_NS" link set "xn$n" master xbr up
	ip -n "$(topo_host_ns "$h")" link set "$port" up
	NIC_HOST[$n]=$h NIC_PORT[$n]=$port NIC_VM[$n]=xn$n
}
cluster_vm_unplug() { ip -n "$MOVE_NS" link del "${NIC_VM[$1]}"; }

# cluster_vm_move N FROM TO MODE OBSERVER: NIC N-1 on FROM, NIC N on TO;
# MODE mbb (make-before-break: plug on TO, wait until OBSERVER's host sends
# there, then let go on FROM) or bbm (unplug, 50 ms, plug).
cluster_vm_move() {
	local n=$1 from=$2 to=$3 mode=$4 observer=$5
	_moved_to() { [[ $(cluster_vm_vtep_on "$observer") == "$(topo_host_addr "$to")" ]]; }
	if [[ $mode == mbb ]]; then
		cluster_vm_plug "$n" "$to"
		cluster_vm_host_file "$to" "vmx$n" >/dev/null
		cluster_wait "$observer sends $MOVE_VM to $to" _moved_to
		cluster_vm_host_file "$from" >/dev/null
		sleep 0.3
		cluster_vm_unplug $((n - 1))
	else
		cluster_vm_unplug $((n - 1))
		cluster_vm_host_file "$from" >/dev/null
		sleep 0.05
		cluster_vm_plug "$n" "$to"
		cluster_vm_host_file "$to" "vmx$n" >/dev/null
		cluster_wait "$observer sends $MOVE_VM to $to" _moved_to
	fi
}

# cluster_maps HOST: HOST's segments, flood lists, ports and FDB as one
# canonical line, to tell whether anything changed.
cluster_maps() {
	"$OVX" --netns "$(topo_host_ns "$1")" show --json | /usr/bin/python3 -c '
import json, sys
print(json.dumps(json.load(sys.stdin)["segments"], sort_keys=True))'
}

# cluster_scrape HOST PORT FILE: one scrape of HOST's `ovx metrics serve`
# (on its loopback, PORT) into FILE; the exporter is stopped again.
cluster_scrape() {
	local pid
	"$OVX" --netns "$(topo_host_ns "$1")" metrics serve --listen "127.0.0.1:$2" >"$TOPO_DIR/metrics.log" 2>&1 &
	pid=$!
	TOPO_PIDS+=("$pid")
	for _ in $(seq 1 50); do
		ip netns exec "$(topo_host_ns "$1")" curl -sf "127.0.0.1:$2/metrics" >"$3" && break
		sleep 0.1
	done
	kill "$pid"
	wait "$pid" 2>/dev/null
	[[ -s $3 ]]
}
