# shellcheck shell=bash
#
# topology.sh - network-namespace test topology for ovx (sourced, not run).
#
# Builds, entirely inside network namespaces created for one run:
#
#   underlay namespace  <P>-u      Linux bridge br0 (the "physical" L2 fabric)
#   host namespaces     <P>-h1 ... eth1 = veth into br0, MTU 1500, with an IPv4
#                                  address (/24), an IPv6 one (/64) or both
#   VM namespaces       <P>-<vm>   eth0 = veth (MAC/IP given, MTU = the inner
#                                  MTU of its tenant's encapsulation and
#                                  underlay family: 1450 for VXLAN over IPv4),
#                                  whose peer is port vmN in the host namespace
#
# where <P> = "ovx<run id>" (e.g. ovx3f2a).  Nothing is ever created in the root
# namespace: every veth is created inside a namespace with its peer moved
# straight into another one.  topo_cleanup removes everything (kill the
# processes started here, delete the namespaces, which deletes the veths).
#
# Hosts are "ovx" hosts (their dataplane is ovx, configured from the YAML that
# topo_write_ovx_config writes) or "kernel" hosts (the kernel's own VXLAN:
# vx<VNI> + bridge br<VNI> per segment, head-end replication to the other
# hosts with all-zero FDB entries; VXLAN segments only).
#
# Each tenant has one segment with an encapsulation (vxlan, geneve, nvgre,
# stt; default vxlan) and an underlay family (4 or 6, default 4): its VTEPs
# are the hosts' addresses of that family (topo_set_tenant_encap).
#
# Typical use:
#   source scripts/lib/topology.sh
#   topo_init                          # run id, work dir
#   topo_install_traps                 # or your own trap calling topo_cleanup
#   topo_add_underlay
#   topo_add_tenant blue 5001          # segment "blue-web", VNI 5001
#   topo_set_tenant_encap blue geneve 6  # optional: Geneve over IPv6
#   topo_add_host h1 192.168.77.1,fd00:77::1   # dual-stack underlay
#   topo_add_kernel_vtep_host h3 192.168.77.3
#   topo_add_vm h1 b1 blue 02:00:00:00:01:01 10.0.0.1/24
#   topo_finalize                      # kernel VTEP flood lists + ovx YAML files
#   ... "$OVX" --netns "$(topo_host_ns h1)" apply -f "$(topo_config_file h1)"
#   topo_ping b1 10.0.0.2
#
# Knobs (environment, read when used):
#   TOPO_ID                run id to use instead of a random one (4-8 [0-9a-z])
#   TOPO_XDP_MODE          mode: written into ovx configs (native | generic), default native
#   TOPO_LEARNING          learning: written into ovx configs, default true
#   TOPO_STATIC_REMOTES    1 = also write remotes: for every VM on other hosts, default 0
#   TOPO_KERNEL_LEARNING   1 = kernel VTEP vxlan devices learn (default), 0 = nolearning
#   TOPO_GRO               1 = enable GRO on both ends of each VM's veth (default),
#                          0 = leave the kernel default (off)
#   TOPO_UNDERLAY_GRO      1 = enable GRO on the underlay veths too; default 0, so
#                          that eth1 receives MTU-sized frames, as from a real NIC
#   TOPO_KEEP_DIR          1 = keep the run's work directory on cleanup
#   TOPO_QUIET             1 = no progress lines from the builders

[[ -n ${_OVX_TOPOLOGY_SH:-} ]] && return 0
_OVX_TOPOLOGY_SH=1

TOPO_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OVX_REPO_ROOT=${OVX_REPO_ROOT:-$(cd "$TOPO_LIB_DIR/../.." && pwd)}

TOPO_UNDERLAY_PREFIX=${TOPO_UNDERLAY_PREFIX:-24}  # underlay IPv4 addresses are /24
TOPO_UNDERLAY_PREFIX6=64                          # and IPv6 ones /64
TOPO_VXLAN_PORT=4789
TOPO_UNDERLAY_MTU=1500
TOPO_ENCAPS="vxlan geneve nvgre stt"

# --- run state (set by topo_init) --------------------------------------------
TOPO_ID=${TOPO_ID:-}
_TOPO_ID_FIXED=$TOPO_ID # from the environment: every topo_init uses it
TOPO_PREFIX=""
TOPO_DIR=""
TOPO_UNDERLAY_NS=""
TOPO_NAMESPACES=()     # every namespace created, in creation order
TOPO_PIDS=()           # every background process started
TOPO_CLEANUP_HOOKS=()  # functions topo_cleanup calls first (e.g. ovx down)
TOPO_HOSTS=()
TOPO_TENANTS=()
TOPO_VMS=()
TOPO_CLEANED=0
declare -gA TOPO_HOST_NS=() TOPO_HOST_ADDR=() TOPO_HOST_ADDR4=() TOPO_HOST_ADDR6=() \
	TOPO_HOST_KIND=() TOPO_HOST_NPORTS=()
declare -gA TOPO_TENANT_VNI=() TOPO_TENANT_SEGMENT=() TOPO_TENANT_ENCAP=() TOPO_TENANT_FAMILY=()
declare -gA TOPO_VM_NS=() TOPO_VM_HOST=() TOPO_VM_TENANT=() TOPO_VM_MAC=() \
	TOPO_VM_IP=() TOPO_VM_PLEN=() TOPO_VM_PORT=() TOPO_VM_MTU=()
declare -gA TOPO_BG_PID=() TOPO_BG_OUT=() TOPO_CAP_FILE=()

# --- messages -------------------------------------------------------------------

topo_log() { [[ ${TOPO_QUIET:-0} == 1 ]] || printf '    %s\n' "$*"; }
topo_warn() { printf 'WARNING: %s\n' "$*" >&2; }
topo_die() {
	printf 'ERROR: %s\n' "$*" >&2
	exit 1
}

# Runs a command that must succeed; on failure dies with the command and its output.
topo_do() {
	local out
	if ! out=$("$@" 2>&1); then
		topo_die "command failed: $*${out:+
$out}"
	fi
	[[ -z $out ]] || printf '%s\n' "$out"
}

# --- setup / teardown -----------------------------------------------------------

# topo_init: checks prerequisites, forgets any previous topology of this
# shell (call topo_cleanup first), picks a run id (unique among the
# namespaces present), creates the work directory $TOPO_DIR. May be called
# again after topo_cleanup to build another topology in the same script.
topo_init() {
	[[ $(id -u) -eq 0 ]] || topo_die "must run as root (network namespaces)"
	local t
	for t in ip bridge ping tcpdump timeout; do
		command -v "$t" >/dev/null || topo_die "missing tool: $t"
	done
	if [[ -n $TOPO_PREFIX ]] && ((!TOPO_CLEANED)); then
		topo_die "topo_init: the topology of run $TOPO_ID is still up (topo_cleanup first)"
	fi
	TOPO_UNDERLAY_NS=""
	TOPO_NAMESPACES=() TOPO_PIDS=() TOPO_HOSTS=() TOPO_TENANTS=() TOPO_VMS=()
	TOPO_HOST_NS=() TOPO_HOST_ADDR=() TOPO_HOST_ADDR4=() TOPO_HOST_ADDR6=()
	TOPO_HOST_KIND=() TOPO_HOST_NPORTS=()
	TOPO_TENANT_VNI=() TOPO_TENANT_SEGMENT=() TOPO_TENANT_ENCAP=() TOPO_TENANT_FAMILY=()
	TOPO_VM_NS=() TOPO_VM_HOST=() TOPO_VM_TENANT=() TOPO_VM_MAC=() TOPO_VM_IP=()
	TOPO_VM_PLEN=() TOPO_VM_PORT=() TOPO_VM_MTU=()
	TOPO_BG_PID=() TOPO_BG_OUT=() TOPO_CAP_FILE=()
	TOPO_ID=$_TOPO_ID_FIXED
	if [[ -z $TOPO_ID ]]; then
		local tries=0
		while :; do
			TOPO_ID=$(printf '%04x' $(((RANDOM ^ ($$ << 3) ^ (RANDOM << 7)) & 0xffff)))
			ip netns list 2>/dev/null | grep "^ovx${TOPO_ID}-" >/dev/null || break
			((++tries < 50)) || topo_die "cannot find a free run id"
		done
	fi
	[[ $TOPO_ID =~ ^[0-9a-z]{1,8}$ ]] || topo_die "bad TOPO_ID '$TOPO_ID' (1-8 of [0-9a-z])"
	TOPO_PREFIX="ovx${TOPO_ID}"
	if ip netns list 2>/dev/null | grep "^${TOPO_PREFIX}-" >/dev/null; then
		topo_die "namespaces with prefix ${TOPO_PREFIX}- already exist"
	fi
	TOPO_DIR=$(mktemp -d "/tmp/${TOPO_PREFIX}.XXXXXX") || topo_die "mktemp failed"
	TOPO_CLEANED=0
}

# topo_install_traps: cleanup on EXIT, INT and TERM (INT/TERM exit 130/143,
# which runs the EXIT trap). Callers that need their own exit handling call
# topo_cleanup from their own trap instead.
topo_install_traps() {
	trap '_topo_exit_trap' EXIT
	trap 'trap - INT; echo "interrupted" >&2; exit 130' INT
	trap 'trap - TERM; echo "terminated" >&2; exit 143' TERM
}

_topo_exit_trap() {
	local rc=$?
	topo_cleanup || { ((rc != 0)) || rc=1; }
	exit "$rc"
}

# topo_cleanup: runs the cleanup hooks, kills the background processes
# started in this run's namespaces, deletes the namespaces (which deletes
# the veths) and the work directory. Idempotent; never stops half way.
# Returns 1 when something of the run is still there afterwards.
topo_cleanup() {
	((TOPO_CLEANED)) && return 0
	TOPO_CLEANED=1
	[[ -n $TOPO_PREFIX ]] || return 0
	local rc=0 hook ns pid
	for hook in "${TOPO_CLEANUP_HOOKS[@]}"; do
		"$hook" || rc=1
	done
	# Our background processes, then anything else still inside our namespaces
	# (only processes of this run can be there). Killed by PID only.
	local pids=()
	for pid in "${TOPO_PIDS[@]}"; do
		_topo_pid_in_our_ns "$pid" && pids+=("$pid")
	done
	for ns in "${TOPO_NAMESPACES[@]}"; do
		[[ -e /run/netns/$ns ]] || continue
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			pids+=("$pid")
		done
	done
	if ((${#pids[@]})); then
		kill -TERM "${pids[@]}" 2>/dev/null
		local i
		for ((i = 0; i < 20; i++)); do
			local alive=0
			for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
			((alive)) || break
			sleep 0.1
		done
		for pid in "${pids[@]}"; do
			_topo_pid_in_our_ns "$pid" && kill -KILL "$pid" 2>/dev/null
		done
		for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
	fi
	# VMs and hosts first, the underlay last (order does not matter to the
	# kernel, but it keeps the veths from being re-homed anywhere).
	local i
	for ((i = ${#TOPO_NAMESPACES[@]} - 1; i >= 0; i--)); do
		ns=${TOPO_NAMESPACES[i]}
		[[ -e /run/netns/$ns ]] || continue
		ip netns del "$ns" 2>/dev/null || { sleep 0.2; ip netns del "$ns" 2>/dev/null; }
	done
	if ! topo_verify_clean; then
		rc=1
	fi
	if [[ -n $TOPO_DIR && -d $TOPO_DIR ]]; then
		if [[ ${TOPO_KEEP_DIR:-0} == 1 ]]; then
			echo "work directory kept: $TOPO_DIR" >&2
		else
			rm -rf -- "$TOPO_DIR"
		fi
	fi
	return $rc
}

# topo_verify_clean: 0 when no namespace and no root-namespace link of this
# run exists; prints what is left otherwise.
topo_verify_clean() {
	[[ -n $TOPO_PREFIX ]] || return 0
	local left_ns left_links rc=0
	left_ns=$(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${TOPO_PREFIX}-")
	left_links=$(ip -o link show 2>/dev/null | awk -F': ' '{print $2}' | grep "${TOPO_PREFIX}")
	if [[ -n $left_ns ]]; then
		topo_warn "namespaces left behind: $(tr '\n' ' ' <<<"$left_ns")"
		rc=1
	fi
	if [[ -n $left_links ]]; then
		topo_warn "links left in the root namespace: $(tr '\n' ' ' <<<"$left_links")"
		rc=1
	fi
	return $rc
}

_topo_pid_in_our_ns() {
	local pid=$1 ns
	kill -0 "$pid" 2>/dev/null || return 1
	ns=$(ip netns identify "$pid" 2>/dev/null) || return 1
	[[ -n $ns && $ns == "${TOPO_PREFIX}-"* ]]
}

# topo_add_cleanup_hook FUNC: FUNC runs at the start of topo_cleanup, while
# the namespaces still exist.
topo_add_cleanup_hook() { TOPO_CLEANUP_HOOKS+=("$1"); }

# Creates namespace <prefix>-NAME with IPv6 off (no DAD/RS/MLD noise) and lo up.
_topo_add_ns() {
	local ns="${TOPO_PREFIX}-$1"
	[[ -n $TOPO_PREFIX ]] || topo_die "topo_init was not called"
	[[ ! -e /run/netns/$ns ]] || topo_die "namespace $ns exists already"
	topo_do ip netns add "$ns"
	TOPO_NAMESPACES+=("$ns")
	topo_do ip netns exec "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	topo_do ip -n "$ns" link set lo up
	_TOPO_NS=$ns
}

# _topo_gro NS IFACE [KNOB]: GRO on IFACE when KNOB (TOPO_GRO) is 1.
_topo_gro() {
	local -n _knob=${3:-TOPO_GRO}
	[[ ${_knob:-1} == 1 ]] || return 0
	ip netns exec "$1" ethtool -K "$2" gro on >/dev/null 2>&1 || true
}

# --- builders -------------------------------------------------------------------

# topo_add_underlay: namespace <P>-u with bridge br0 (no STP, no snooping).
topo_add_underlay() {
	_topo_add_ns u
	TOPO_UNDERLAY_NS=$_TOPO_NS
	topo_do ip -n "$TOPO_UNDERLAY_NS" link add br0 type bridge stp_state 0 \
		forward_delay 0 mcast_snooping 0
	topo_do ip -n "$TOPO_UNDERLAY_NS" link set br0 multicast off up
	topo_log "underlay $TOPO_UNDERLAY_NS: bridge br0"
}

# topo_add_tenant TENANT ID [SEGMENT]: one segment per tenant (VXLAN over
# IPv4 until topo_set_tenant_encap); ID is the VNI, VSID or STT context ID;
# the segment name defaults to TENANT-web.
topo_add_tenant() {
	local tenant=$1 vni=$2 seg=${3:-$1-web}
	[[ $tenant =~ ^[a-z][a-z0-9_-]*$ ]] || topo_die "bad tenant name '$tenant'"
	[[ $vni =~ ^[0-9]+$ ]] || topo_die "bad segment id '$vni'"
	[[ -z ${TOPO_TENANT_VNI[$tenant]:-} ]] || topo_die "tenant $tenant added twice"
	TOPO_TENANTS+=("$tenant")
	TOPO_TENANT_VNI[$tenant]=$vni
	TOPO_TENANT_SEGMENT[$tenant]=$seg
	TOPO_TENANT_ENCAP[$tenant]=vxlan
	TOPO_TENANT_FAMILY[$tenant]=4
}

# topo_set_tenant_encap TENANT ENCAP [FAMILY]: TENANT's segment uses ENCAP
# (vxlan | geneve | nvgre | stt) between the hosts' addresses of FAMILY (4 or
# 6, default 4). Before the tenant's first VM: the VMs' MTU follows from it.
topo_set_tenant_encap() {
	local tenant=$1 encap=$2 family=${3:-4} vm
	[[ -n ${TOPO_TENANT_VNI[$tenant]:-} ]] || topo_die "unknown tenant '$tenant'"
	[[ " $TOPO_ENCAPS " == *" $encap "* ]] || topo_die "bad encapsulation '$encap' ($TOPO_ENCAPS)"
	[[ $family == 4 || $family == 6 ]] || topo_die "bad underlay family '$family' (4 or 6)"
	for vm in "${TOPO_VMS[@]}"; do
		[[ ${TOPO_VM_TENANT[$vm]} != "$tenant" ]] ||
			topo_die "topo_set_tenant_encap $tenant: the tenant has VMs already"
	done
	TOPO_TENANT_ENCAP[$tenant]=$encap
	TOPO_TENANT_FAMILY[$tenant]=$family
}

# topo_inner_mtu ENCAP FAMILY: the largest inner IP packet that ENCAP over an
# IPv4/IPv6 underlay of MTU $TOPO_UNDERLAY_MTU carries: the underlay MTU less
# the outer IP header, the tunnel headers (UDP 8 + VXLAN/Geneve 8, GRE with
# key 8, STT's TCP-like 20 + frame header 18) and the inner Ethernet header.
topo_inner_mtu() {
	local tun ip
	case $1 in
	vxlan | geneve) tun=16 ;;
	nvgre) tun=8 ;;
	stt) tun=38 ;;
	*) topo_die "topo_inner_mtu: bad encapsulation '$1'" ;;
	esac
	case $2 in
	4) ip=20 ;;
	6) ip=40 ;;
	*) topo_die "topo_inner_mtu: bad family '$2'" ;;
	esac
	echo $((TOPO_UNDERLAY_MTU - ip - tun - 14))
}

# topo_add_host NAME|N ADDRS [KIND]: host namespace <P>-NAME (a bare number N
# means hN) with eth1 plugged into the underlay bridge, MTU 1500. ADDRS is an
# IPv4 address (/24), an IPv6 address (/64, IPv6 is then enabled on eth1
# only), or both separated by a comma; the first is the host's main address
# (topo_host_addr HOST). KIND is ovx (default) or kernel (see
# topo_add_kernel_vtep_host).
topo_add_host() {
	local host=$1 addrs=$2 kind=${3:-ovx} a addr4="" addr6=""
	[[ $host =~ ^[0-9]+$ ]] && host="h$host"
	[[ $host =~ ^[a-z][a-z0-9]{0,5}$ ]] || topo_die "bad host name '$host' (1-6 of [a-z0-9])"
	for a in ${addrs//,/ }; do
		if [[ $a =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ && -z $addr4 ]]; then
			addr4=$a
		elif [[ $a == *:* && $a =~ ^[0-9a-fA-F:]+$ && -z $addr6 ]]; then
			addr6=${a,,}
		else
			topo_die "bad host addresses '$addrs' (one IPv4, one IPv6 or one of each)"
		fi
	done
	[[ -n $addr4$addr6 ]] || topo_die "host $host: no address"
	[[ $kind == ovx || $kind == kernel ]] || topo_die "bad host kind '$kind'"
	[[ -n $TOPO_UNDERLAY_NS ]] || topo_die "topo_add_underlay first"
	[[ -z ${TOPO_HOST_NS[$host]:-} ]] || topo_die "host $host added twice"
	_topo_add_ns "$host"
	local ns=$_TOPO_NS u=$TOPO_UNDERLAY_NS
	TOPO_HOSTS+=("$host")
	TOPO_HOST_NS[$host]=$ns
	TOPO_HOST_ADDR[$host]=${addrs%%,*}
	TOPO_HOST_ADDR[$host]=${TOPO_HOST_ADDR[$host],,}
	TOPO_HOST_ADDR4[$host]=$addr4
	TOPO_HOST_ADDR6[$host]=$addr6
	TOPO_HOST_KIND[$host]=$kind
	TOPO_HOST_NPORTS[$host]=0
	# eth1 in the host, its peer (named after the host) in the underlay.
	topo_do ip -n "$ns" link add eth1 mtu "$TOPO_UNDERLAY_MTU" type veth \
		peer name "$host" mtu "$TOPO_UNDERLAY_MTU" netns "$u"
	topo_do ip -n "$u" link set "$host" master br0
	topo_do ip -n "$u" link set "$host" up
	[[ -z $addr4 ]] || topo_do ip -n "$ns" addr add "$addr4/$TOPO_UNDERLAY_PREFIX" dev eth1
	if [[ -n $addr6 ]]; then
		# On eth1 only, without router solicitations and without DAD: a
		# tentative link-local address would hold back neighbour solicitations
		# (and so the VTEPs' neighbour entries) for a second or more.
		topo_do ip netns exec "$ns" sysctl -q -w net.ipv6.conf.eth1.accept_dad=0 \
			net.ipv6.conf.eth1.accept_ra=0 net.ipv6.conf.eth1.router_solicitations=0
		topo_do ip netns exec "$ns" sysctl -q -w net.ipv6.conf.eth1.disable_ipv6=0
		topo_do ip -n "$ns" addr add "$addr6/$TOPO_UNDERLAY_PREFIX6" dev eth1 nodad
	fi
	topo_do ip -n "$ns" link set eth1 up
	TOPO_UNDERLAY_GRO=${TOPO_UNDERLAY_GRO:-0}
	_topo_gro "$u" "$host" TOPO_UNDERLAY_GRO
	_topo_gro "$ns" eth1 TOPO_UNDERLAY_GRO
	topo_log "host $host ($kind) $ns: eth1 ${addr4:+$addr4/$TOPO_UNDERLAY_PREFIX }${addr6:+$addr6/$TOPO_UNDERLAY_PREFIX6}"
}

# topo_add_kernel_vtep_host NAME|N ADDRS: a host whose overlay is the kernel's
# VXLAN (per segment: vx<VNI> local <address of the segment's family> dstport
# 4789 dev eth1, bridge br<VNI>); flood entries to the other hosts are added
# by topo_finalize.
topo_add_kernel_vtep_host() { topo_add_host "$1" "$2" kernel; }

# topo_add_vm HOST VMNAME TENANT MAC IP[/PLEN]: VM namespace <P>-VMNAME with
# eth0 (MAC, IP, MTU = topo_inner_mtu of the tenant's encapsulation and
# family); its peer is port vmN on HOST (N counts per host).
topo_add_vm() {
	local host=$1 vm=$2 tenant=$3 mac=$4 ip=$5 plen=24
	[[ $host =~ ^[0-9]+$ ]] && host="h$host"
	[[ -n ${TOPO_HOST_NS[$host]:-} ]] || topo_die "unknown host '$host'"
	[[ -n ${TOPO_TENANT_VNI[$tenant]:-} ]] || topo_die "unknown tenant '$tenant' (topo_add_tenant first)"
	[[ $vm =~ ^[a-z][a-z0-9]{0,7}$ ]] || topo_die "bad VM name '$vm' (1-8 of [a-z0-9])"
	[[ -z ${TOPO_VM_NS[$vm]:-} ]] || topo_die "VM $vm added twice"
	[[ $mac =~ ^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$ ]] || topo_die "bad MAC '$mac'"
	if [[ $ip == */* ]]; then plen=${ip#*/}; ip=${ip%/*}; fi
	local hns=${TOPO_HOST_NS[$host]} n port mtu
	mtu=$(topo_inner_mtu "${TOPO_TENANT_ENCAP[$tenant]}" "${TOPO_TENANT_FAMILY[$tenant]}")
	n=$((TOPO_HOST_NPORTS[$host] + 1))
	TOPO_HOST_NPORTS[$host]=$n
	port="vm$n"
	_topo_add_ns "$vm"
	local ns=$_TOPO_NS
	TOPO_VMS+=("$vm")
	TOPO_VM_NS[$vm]=$ns
	TOPO_VM_HOST[$vm]=$host
	TOPO_VM_TENANT[$vm]=$tenant
	TOPO_VM_MAC[$vm]=${mac,,}
	TOPO_VM_IP[$vm]=$ip
	TOPO_VM_PLEN[$vm]=$plen
	TOPO_VM_PORT[$vm]=$port
	TOPO_VM_MTU[$vm]=$mtu
	topo_do ip -n "$ns" link add eth0 address "${mac,,}" mtu "$mtu" type veth \
		peer name "$port" mtu "$mtu" netns "$hns"
	topo_do ip -n "$ns" addr add "$ip/$plen" dev eth0
	topo_do ip -n "$ns" link set eth0 up
	topo_do ip -n "$hns" link set "$port" up
	_topo_gro "$ns" eth0
	_topo_gro "$hns" "$port"
	if [[ ${TOPO_HOST_KIND[$host]} == kernel ]]; then
		_topo_kernel_segment "$host" "$tenant"
		topo_do ip -n "$hns" link set "$port" master "br${TOPO_TENANT_VNI[$tenant]}"
	fi
	topo_log "vm $vm ($tenant) $ns: eth0 ${mac,,} $ip/$plen mtu $mtu <-> $host:$port"
}

# Kernel VTEP: vx<VNI> + br<VNI> on HOST for TENANT's segment, once.
_topo_kernel_segment() {
	local host=$1 tenant=$2 ns=${TOPO_HOST_NS[$1]}
	local vni=${TOPO_TENANT_VNI[$tenant]} family=${TOPO_TENANT_FAMILY[$tenant]} local
	ip -n "$ns" link show "vx$vni" >/dev/null 2>&1 && return 0
	[[ ${TOPO_TENANT_ENCAP[$tenant]} == vxlan ]] ||
		topo_die "kernel host $host: tenant $tenant uses ${TOPO_TENANT_ENCAP[$tenant]}, kernel hosts do VXLAN only"
	local -n _addrs="TOPO_HOST_ADDR$family"
	local=${_addrs[$host]}
	[[ -n $local ]] || topo_die "kernel host $host has no IPv$family address for tenant $tenant"
	local opts=()
	[[ ${TOPO_KERNEL_LEARNING:-1} == 1 ]] || opts=(nolearning)
	# ovx sends UDP checksum zero over IPv6 (RFC 6935): accept it.
	[[ $family == 6 ]] && opts+=(udp6zerocsumrx)
	topo_do ip -n "$ns" link add "vx$vni" type vxlan id "$vni" \
		local "$local" dstport "$TOPO_VXLAN_PORT" dev eth1 "${opts[@]}"
	topo_do ip -n "$ns" link set "vx$vni" mtu "$(topo_inner_mtu vxlan "$family")"
	topo_do ip -n "$ns" link add "br$vni" type bridge stp_state 0 forward_delay 0 \
		mcast_snooping 0
	topo_do ip -n "$ns" link set "vx$vni" master "br$vni"
	topo_do ip -n "$ns" link set "vx$vni" up
	# multicast off: the bridge's own stack sends no IGMP into the segment.
	topo_do ip -n "$ns" link set "br$vni" multicast off up
	topo_log "host $host: kernel VXLAN vx$vni (VNI $vni, IPv$family) in bridge br$vni"
}

# topo_kernel_vtep_flood HOST: (re)writes the all-zero flood entries of each
# of HOST's vxlan devices: one per other host with a VM in that segment.
topo_kernel_vtep_flood() {
	local host=$1 ns=${TOPO_HOST_NS[$1]} tenant vni peer
	for tenant in $(topo_host_tenants "$host"); do
		vni=${TOPO_TENANT_VNI[$tenant]}
		for peer in $(topo_segment_peers "$host" "$tenant"); do
			topo_do bridge -n "$ns" fdb append 00:00:00:00:00:00 dev "vx$vni" \
				dst "$(topo_tenant_vtep "$tenant" "$peer")" self permanent
		done
	done
}

# topo_finalize: call once all hosts and VMs exist: sets the kernel VTEP
# hosts' flood entries and writes $TOPO_DIR/<host>.yaml for each ovx host.
topo_finalize() {
	local host
	for host in "${TOPO_HOSTS[@]}"; do
		if [[ ${TOPO_HOST_KIND[$host]} == kernel ]]; then
			topo_kernel_vtep_flood "$host"
		else
			topo_write_ovx_config "$host" "$(topo_config_file "$host")"
		fi
	done
}

# topo_check_underlay: every host pings every other host's underlay address
# once (sanity check of the fabric), then the hosts' neighbour caches are
# flushed again so the dataplane starts from nothing. Returns 1 on failure.
# Beyond 16 hosts (benchmarks of many agents) the n^2 pings would take
# minutes: every host and the first then ping each other only.
topo_check_underlay() {
	local a b dst rc=0 star=0
	((${#TOPO_HOSTS[@]} > 16)) && star=1
	for a in "${TOPO_HOSTS[@]}"; do
		for b in "${TOPO_HOSTS[@]}"; do
			[[ $a == "$b" ]] && continue
			((star)) && [[ $a != "${TOPO_HOSTS[0]}" && $b != "${TOPO_HOSTS[0]}" ]] && continue
			for dst in ${TOPO_HOST_ADDR4[$b]} ${TOPO_HOST_ADDR6[$b]}; do
				# Only between addresses of one family that both hosts have.
				[[ $dst == *:* && -z ${TOPO_HOST_ADDR6[$a]} ]] && continue
				[[ $dst != *:* && -z ${TOPO_HOST_ADDR4[$a]} ]] && continue
				if ! ip netns exec "${TOPO_HOST_NS[$a]}" ping -q -c 1 -W 2 \
					"$dst" >/dev/null 2>&1; then
					topo_warn "underlay: $a cannot reach $b ($dst)"
					rc=1
				fi
			done
		done
	done
	for a in "${TOPO_HOSTS[@]}"; do
		ip -n "${TOPO_HOST_NS[$a]}" neigh flush dev eth1 >/dev/null 2>&1 || true
	done
	return $rc
}

# --- ovx configuration ----------------------------------------------------------

# topo_config_file HOST: where topo_finalize writes HOST's ovx config.
topo_config_file() { printf '%s/%s.yaml\n' "$TOPO_DIR" "$1"; }

# topo_write_ovx_config HOST FILE: HOST's desired state as ovx YAML: the
# underlay, and one segment per tenant with a VM on HOST (ports = those VMs,
# flood = the other hosts with a VM of that tenant, remotes = the VMs on
# other hosts when TOPO_STATIC_REMOTES=1).
topo_write_ovx_config() {
	local host=$1 file=$2 tenant vm peer sep
	[[ -n ${TOPO_HOST_NS[$host]:-} ]] || topo_die "unknown host '$host'"
	{
		echo "# ovx config for host $host (${TOPO_HOST_NS[$host]}), run $TOPO_ID"
		echo "underlay:"
		echo "  interface: eth1"
		if [[ -n ${TOPO_HOST_ADDR4[$host]} && -n ${TOPO_HOST_ADDR6[$host]} ]]; then
			echo "  address: [${TOPO_HOST_ADDR4[$host]}, ${TOPO_HOST_ADDR6[$host]}]"
		else
			echo "  address: ${TOPO_HOST_ADDR[$host]}"
		fi
		echo "  mode: ${TOPO_XDP_MODE:-native}"
		echo "segments:"
		local any=0
		for tenant in $(topo_host_tenants "$host"); do
			any=1
			echo "  - name: ${TOPO_TENANT_SEGMENT[$tenant]}"
			echo "    tenant: $tenant"
			echo "    encap: ${TOPO_TENANT_ENCAP[$tenant]}"
			echo "    id: ${TOPO_TENANT_VNI[$tenant]}"
			echo "    learning: ${TOPO_LEARNING:-true}"
			printf '    flood: ['
			sep=""
			for peer in $(topo_segment_peers "$host" "$tenant"); do
				printf '%s%s' "$sep" "$(topo_tenant_vtep "$tenant" "$peer")"
				sep=", "
			done
			printf ']\n'
			echo "    ports:"
			for vm in "${TOPO_VMS[@]}"; do
				[[ ${TOPO_VM_HOST[$vm]} == "$host" && ${TOPO_VM_TENANT[$vm]} == "$tenant" ]] ||
					continue
				echo "      - interface: ${TOPO_VM_PORT[$vm]}"
				echo "        mac: ${TOPO_VM_MAC[$vm]}"
			done
			if [[ ${TOPO_STATIC_REMOTES:-0} == 1 ]]; then
				local remotes=()
				for vm in "${TOPO_VMS[@]}"; do
					[[ ${TOPO_VM_HOST[$vm]} != "$host" && ${TOPO_VM_TENANT[$vm]} == "$tenant" ]] &&
						remotes+=("$vm")
				done
				if ((${#remotes[@]})); then
					echo "    remotes:"
					for vm in "${remotes[@]}"; do
						echo "      - mac: ${TOPO_VM_MAC[$vm]}"
						echo "        vtep: $(topo_tenant_vtep "$tenant" "${TOPO_VM_HOST[$vm]}")"
					done
				fi
			fi
		done
		((any)) || echo "  []"
	} >"$file" || topo_die "cannot write $file"
}

# --- lookups --------------------------------------------------------------------

topo_host_ns() { _topo_get TOPO_HOST_NS "$1" host; }
topo_host_addr() { _topo_get TOPO_HOST_ADDR "$1" host; }
topo_host_kind() { _topo_get TOPO_HOST_KIND "$1" host; }
topo_vm_ns() { _topo_get TOPO_VM_NS "$1" VM; }
topo_vm_ip() { _topo_get TOPO_VM_IP "$1" VM; }
topo_vm_mac() { _topo_get TOPO_VM_MAC "$1" VM; }
topo_vm_port() { _topo_get TOPO_VM_PORT "$1" VM; }
topo_vm_host() { _topo_get TOPO_VM_HOST "$1" VM; }
topo_vm_tenant() { _topo_get TOPO_VM_TENANT "$1" VM; }
topo_tenant_vni() { _topo_get TOPO_TENANT_VNI "$1" tenant; }
topo_tenant_segment() { _topo_get TOPO_TENANT_SEGMENT "$1" tenant; }
topo_tenant_encap() { _topo_get TOPO_TENANT_ENCAP "$1" tenant; }
topo_tenant_family() { _topo_get TOPO_TENANT_FAMILY "$1" tenant; }
topo_vm_mtu() { _topo_get TOPO_VM_MTU "$1" VM; }

# topo_host_addr4 HOST / topo_host_addr6 HOST: the host's address of that
# family (empty when it has none).
topo_host_addr4() { _topo_host_addr_of 4 "$1"; }
topo_host_addr6() { _topo_host_addr_of 6 "$1"; }
_topo_host_addr_of() {
	local host=$2
	[[ $host =~ ^[0-9]+$ ]] && host="h$host"
	topo_host_ns "$host" >/dev/null || return 1
	local -n _of="TOPO_HOST_ADDR$1"
	printf '%s\n' "${_of[$host]}"
}

# topo_tenant_vtep TENANT HOST: HOST's VTEP address in TENANT's segment (its
# address of the tenant's family); dies when HOST has none.
topo_tenant_vtep() {
	local family=${TOPO_TENANT_FAMILY[$1]:-}
	[[ -n $family ]] || topo_die "unknown tenant '$1'"
	local -n _vteps="TOPO_HOST_ADDR$family"
	[[ -n ${_vteps[$2]:-} ]] || topo_die "host $2 has no IPv$family address (tenant $1's segment)"
	printf '%s\n' "${_vteps[$2]}"
}

_topo_get() {
	local -n _map=$1
	local key=$2
	[[ $key =~ ^[0-9]+$ && $3 == host ]] && key="h$key"
	if [[ -z ${_map[$key]:-} ]]; then
		echo "unknown $3 '$key'" >&2
		return 1
	fi
	printf '%s\n' "${_map[$key]}"
}

# topo_hosts [KIND]: host names, optionally only those of KIND (ovx|kernel).
topo_hosts() {
	local h
	for h in "${TOPO_HOSTS[@]}"; do
		[[ -z ${1:-} || ${TOPO_HOST_KIND[$h]} == "$1" ]] && echo "$h"
	done
	return 0
}

# topo_vms [TENANT [HOST]]: VM names, optionally filtered.
topo_vms() {
	local vm
	for vm in "${TOPO_VMS[@]}"; do
		[[ -n ${1:-} && ${TOPO_VM_TENANT[$vm]} != "$1" ]] && continue
		[[ -n ${2:-} && ${TOPO_VM_HOST[$vm]} != "$2" ]] && continue
		echo "$vm"
	done
	return 0
}

# topo_host_tenants HOST: tenants with at least one VM on HOST (tenant order).
topo_host_tenants() {
	local tenant vm
	for tenant in "${TOPO_TENANTS[@]}"; do
		for vm in "${TOPO_VMS[@]}"; do
			if [[ ${TOPO_VM_HOST[$vm]} == "$1" && ${TOPO_VM_TENANT[$vm]} == "$tenant" ]]; then
				echo "$tenant"
				break
			fi
		done
	done
	return 0
}

# topo_segment_peers HOST TENANT: the other hosts with a VM of TENANT.
topo_segment_peers() {
	local h vm
	for h in "${TOPO_HOSTS[@]}"; do
		[[ $h == "$1" ]] && continue
		for vm in "${TOPO_VMS[@]}"; do
			if [[ ${TOPO_VM_HOST[$vm]} == "$h" && ${TOPO_VM_TENANT[$vm]} == "$2" ]]; then
				echo "$h"
				break
			fi
		done
	done
	return 0
}

# topo_summary: a table of hosts and VMs.
topo_summary() {
	local h vm
	printf '  run %s, work dir %s\n' "$TOPO_ID" "$TOPO_DIR"
	printf '  %-6s %-6s %-28s %s\n' HOST KIND UNDERLAY NAMESPACE
	for h in "${TOPO_HOSTS[@]}"; do
		printf '  %-6s %-6s %-28s %s\n' "$h" "${TOPO_HOST_KIND[$h]}" \
			"${TOPO_HOST_ADDR4[$h]}${TOPO_HOST_ADDR4[$h]:+${TOPO_HOST_ADDR6[$h]:+,}}${TOPO_HOST_ADDR6[$h]}" \
			"${TOPO_HOST_NS[$h]}"
	done
	local t
	printf '  %-6s %-10s %-7s %s\n' TENANT ID ENCAP UNDERLAY
	for t in "${TOPO_TENANTS[@]}"; do
		printf '  %-6s %-10s %-7s IPv%s\n' "$t" "${TOPO_TENANT_VNI[$t]}" \
			"${TOPO_TENANT_ENCAP[$t]}" "${TOPO_TENANT_FAMILY[$t]}"
	done
	printf '  %-6s %-6s %-6s %-5s %-17s %-15s %-5s %s\n' VM TENANT HOST PORT MAC IP MTU NAMESPACE
	for vm in "${TOPO_VMS[@]}"; do
		printf '  %-6s %-6s %-6s %-5s %-17s %-15s %-5s %s\n' "$vm" "${TOPO_VM_TENANT[$vm]}" \
			"${TOPO_VM_HOST[$vm]}" "${TOPO_VM_PORT[$vm]}" "${TOPO_VM_MAC[$vm]}" \
			"${TOPO_VM_IP[$vm]}/${TOPO_VM_PLEN[$vm]}" "${TOPO_VM_MTU[$vm]}" "${TOPO_VM_NS[$vm]}"
	done
}

# --- running things -------------------------------------------------------------

# topo_exec NS CMD...: CMD in namespace NS (full namespace name).
topo_exec() {
	local ns=$1
	shift
	ip netns exec "$ns" "$@"
}

# topo_vm_exec VM CMD... / topo_host_exec HOST CMD...
topo_vm_exec() {
	local ns
	ns=$(topo_vm_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}
topo_host_exec() {
	local ns
	ns=$(topo_host_ns "$1") || return 1
	shift
	ip netns exec "$ns" "$@"
}

# topo_bg NAME NS CMD...: starts CMD in namespace NS in the background,
# stdout+stderr to $TOPO_DIR/NAME.out; remembers its PID (topo_bg_pid NAME).
topo_bg() {
	local name=$1 ns=$2
	shift 2
	local out="$TOPO_DIR/$name.out"
	ip netns exec "$ns" "$@" >"$out" 2>&1 </dev/null &
	local pid=$!
	TOPO_PIDS+=("$pid")
	TOPO_BG_PID[$name]=$pid
	TOPO_BG_OUT[$name]=$out
}

topo_bg_pid() { printf '%s\n' "${TOPO_BG_PID[$1]:-}"; }
topo_bg_out() { printf '%s\n' "${TOPO_BG_OUT[$1]:-}"; }

# topo_bg_stop NAME [SIGNAL]: signals (default TERM) and reaps NAME.
topo_bg_stop() {
	local pid=${TOPO_BG_PID[$1]:-} sig=${2:-TERM} i
	[[ -n $pid ]] || return 0
	if _topo_pid_in_our_ns "$pid"; then
		kill "-$sig" "$pid" 2>/dev/null
		for ((i = 0; i < 30; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		_topo_pid_in_our_ns "$pid" && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	unset "TOPO_BG_PID[$1]"
	return 0
}

# topo_ping VM DST [COUNT]: pings DST from VM (COUNT, default 3, 0.2 s apart,
# 1 s wait each). Prints ping's summary; returns 0 if any reply came back.
topo_ping() {
	local vm=$1 dst=$2 count=${3:-3} out rc
	out=$(topo_vm_exec "$vm" ping -n -c "$count" -i 0.2 -W 1 "$dst" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -E 'packets transmitted' | sed 's/^/      /'
	return $rc
}

# topo_ping_received VM DST COUNT: prints the number of replies.
topo_ping_received() {
	local out
	out=$(topo_vm_exec "$1" ping -n -q -c "${3:-3}" -i 0.2 -W 1 "$2" 2>&1)
	printf '%s\n' "$out" | sed -n 's/.* \([0-9]\+\) received.*/\1/p' | head -1 | grep . || echo 0
}

# topo_neigh_flush VM...: forgets the VMs' ARP entries.
topo_neigh_flush() {
	local vm
	for vm in "$@"; do topo_vm_exec "$vm" ip neigh flush dev eth0 >/dev/null 2>&1; done
	return 0
}

# topo_neigh_set VM PEER_VM: permanent ARP entry for PEER_VM in VM (no ARP).
topo_neigh_set() {
	topo_do topo_vm_exec "$1" ip neigh replace "$(topo_vm_ip "$2")" \
		lladdr "$(topo_vm_mac "$2")" dev eth0 nud permanent
}

# topo_neigh_mac VM IP: the MAC VM's ARP cache has for IP (empty if none).
topo_neigh_mac() {
	topo_vm_exec "$1" ip neigh show "$2" dev eth0 2>/dev/null |
		awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'
}

# --- captures -------------------------------------------------------------------

# topo_capture_start NAME NS IFACE [FILTER...]: tcpdump on IFACE in NS into
# $TOPO_DIR/NAME.pcap; returns once tcpdump is listening.
topo_capture_start() {
	local name=$1 ns=$2 ifc=$3 i
	shift 3
	local file="$TOPO_DIR/$name.pcap"
	TOPO_CAP_FILE[$name]=$file
	topo_bg "cap-$name" "$ns" tcpdump -n -i "$ifc" --immediate-mode -U -s 256 -Z root -w "$file" "$@"
	for ((i = 0; i < 50; i++)); do
		grep -q 'listening on' "${TOPO_BG_OUT[cap-$name]}" 2>/dev/null && return 0
		kill -0 "${TOPO_BG_PID[cap-$name]}" 2>/dev/null || break
		sleep 0.1
	done
	topo_warn "capture $name did not start: $(cat "${TOPO_BG_OUT[cap-$name]}" 2>/dev/null)"
	return 1
}

# topo_capture_vm_start NAME VM [FILTER...]: capture on VM's eth0.
topo_capture_vm_start() {
	local name=$1 ns
	ns=$(topo_vm_ns "$2") || return 1
	shift 2
	topo_capture_start "$name" "$ns" eth0 "$@"
}

# topo_capture_stop NAME: stops the capture (the file stays).
topo_capture_stop() {
	sleep 0.3 # let the last frames in flight land
	topo_bg_stop "cap-$1" INT
}

# topo_capture_count NAME [FILTER...]: frames in the capture (matching FILTER).
topo_capture_count() {
	local name=$1
	shift
	local file=${TOPO_CAP_FILE[$name]:-}
	[[ -f $file ]] || { echo 0; return 0; }
	tcpdump -n -r "$file" "$@" 2>/dev/null | wc -l
}

# topo_capture_print NAME [MAX]: the first MAX (default 10) frames, for logs.
topo_capture_print() {
	local file=${TOPO_CAP_FILE[$1]:-}
	[[ -f $file ]] || return 0
	tcpdump -n -e -r "$file" 2>/dev/null | head -n "${2:-10}" | sed 's/^/      | /'
}

# --- iperf3 ---------------------------------------------------------------------

# topo_iperf_server VM [PORT]: one-shot iperf3 server on VM's address; returns
# once it listens.
topo_iperf_server() {
	local vm=$1 port=${2:-5201} ns ip i
	ns=$(topo_vm_ns "$vm") || return 1
	ip=$(topo_vm_ip "$vm")
	topo_bg "iperf-s-$vm-$port" "$ns" iperf3 -s -1 -B "$ip" -p "$port"
	for ((i = 0; i < 50; i++)); do
		ip netns exec "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep . >/dev/null && return 0
		sleep 0.1
	done
	topo_warn "iperf3 server on $vm did not start: $(cat "$(topo_bg_out "iperf-s-$vm-$port")")"
	return 1
}

# topo_iperf_client VM DST SECONDS [PORT [iperf3 args...]]: TCP test from VM
# to DST; prints the received throughput in Gbit/s (e.g. 12.34); returns 1
# (message on stderr) if the test failed. The JSON report stays in
# $TOPO_DIR/iperf-<VM>-<DST>.json.
topo_iperf_client() {
	local vm=$1 dst=$2 secs=$3 port=${4:-5201} ns json
	shift 4 2>/dev/null || shift $#
	ns=$(topo_vm_ns "$vm") || return 1
	json="$TOPO_DIR/iperf-$vm-$dst.json"
	timeout $((secs + 30)) ip netns exec "$ns" iperf3 -c "$dst" -p "$port" -t "$secs" \
		--connect-timeout 3000 -J "$@" >"$json" 2>"$json.err"
	/usr/bin/python3 - "$json" <<'EOF'
import json, sys
try:
    with open(sys.argv[1]) as f:
        r = json.load(f)
except Exception as e:
    sys.exit("iperf3 gave no usable JSON: %s" % e)
if r.get("error"):
    sys.exit("iperf3: " + r["error"])
try:
    bps = r["end"]["sum_received"]["bits_per_second"]
except KeyError:
    sys.exit("iperf3 JSON without end.sum_received")
print("%.2f" % (bps / 1e9))
EOF
}
