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

# cluster_host_file HOST [LEASE_TTL] [VM...]: HOST's cluster-mode file
# (path on stdout); its ports are VM... (default: the VMs on HOST; "none":
# no port).
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
		echo "  node: $h"
		echo "  lease_ttl: $ttl"
		[[ -n ${CLUSTER_MOBILITY:-} ]] && echo "  mobility: $CLUSTER_MOBILITY"
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

# cluster_vm_on_bridge VM: VM's address moves onto a bridge inside it (its
# MAC the VM's), so that it can have a NIC on two hosts at once while it
# moves; its first NIC (eth0) becomes a port of the bridge.
cluster_vm_on_bridge() {
	local ns mac ip mtu
	ns=$(topo_vm_ns "$1") mac=$(topo_vm_mac "$1") ip=$(topo_vm_ip "$1") mtu=$(topo_vm_mtu "$1")
	ip -n "$ns" link add xbr address "$mac" mtu "$mtu" type bridge stp_state 0 forward_delay 0
	ip -n "$ns" addr del "$ip/24" dev eth0
	ip -n "$ns" link set eth0 address 02:ff:00:00:00:01 master xbr
	ip -n "$ns" link set xbr up
	ip -n "$ns" addr add "$ip/24" dev xbr
}

# cluster_mover_file HOST VM TTL [PORT]: HOST's file (path on stdout) with
# its own VMs but VM, and VM's NIC as PORT on HOST when given.
cluster_mover_file() {
	local h=$1 mover=$2 ttl=$3 port=${4:-} f vm
	local others=()
	for vm in $(topo_vms "" "$h"); do [[ $vm != "$mover" ]] && others+=("$vm"); done
	((${#others[@]})) || others=(none)
	f=$(cluster_host_file "$h" "$ttl" "${others[@]}")
	if [[ -n $port ]]; then
		sed -i '/^ports:/,$ { /^  \[\]$/d }' "$f"
		echo "  - {interface: $port, segment: $(topo_tenant_segment "$(topo_vm_tenant "$mover")"), mac: \"$(topo_vm_mac "$mover")\", ips: [$(topo_vm_ip "$mover")]}" >>"$f"
	fi
	echo "$f"
}

# cluster_agent_start HOST FILE: the cluster agent of HOST, returns once synced.
cluster_agent_start() {
	OVX_AGENT_FLAG=--cluster OVX_AGENT_READY='synced at revision' ovx_agent_start "$1" "$2" --interval 1
}

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
