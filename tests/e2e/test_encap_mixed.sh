#!/usr/bin/env bash
# One host carrying segments of all four kinds at once, over a dual-stack
# underlay: h1 and h2 each have an IPv4 and an IPv6 VTEP address and four
# tenants, all with segment id 5001 and the same VM MACs and IPs: blue VXLAN
# over IPv4, red Geneve over IPv6, green NVGRE over IPv6, yellow STT over
# IPv4. For each tenant in turn: pings both ways with empty ARP caches, zero
# frames at the six VMs of the other tenants, on the underlay only that
# tenant's encapsulation and family with its id (tshark), and no counter of
# another segment moves on either host.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$E2E_LIB_DIR/encap_lib.sh"

e2e_init test_encap_mixed "VXLAN, Geneve, NVGRE and STT segments side by side on one dual-stack host"
encap_require
e2e_build_topology "ovx ovx" \
	"blue:5001:vxlan:4 red:5001:geneve:6 green:5001:nvgre:6 yellow:5001:stt:4"
e2e_apply_all

# seg_counters: "host segment rx tx" for every host and segment.
seg_counters() {
	local h json
	for h in h1 h2; do
		json=$(ovx_stats_json "$h") || e2e_fail "ovx stats --json on $h"
		/usr/bin/python3 -c '
import json, sys
for s in json.load(sys.stdin)["segments"]:
    print(sys.argv[1], s["name"], s["rx_packets"], s["tx_packets"])' "$h" <<<"$json" ||
			e2e_fail "ovx stats --json on $h: no segments"
	done
}

for tenant in blue red green yellow; do
	seg=$(topo_tenant_segment "$tenant")
	e2e_step "$tenant ($(topo_tenant_encap "$tenant") over IPv$(topo_tenant_family "$tenant")): ${tenant:0:1}1 <-> ${tenant:0:1}2, the other tenants captured"
	before=$(seg_counters)
	encap_isolated_pings "$tenant" "${tenant:0:1}1" "${tenant:0:1}2"
	after=$(seg_counters)
	moved=$(diff <(grep -v " $seg " <<<"$before") <(grep -v " $seg " <<<"$after"))
	[[ -z $moved ]] || e2e_fail "counters of other segments moved while $tenant pinged:
$moved"
	grep " $seg " <<<"$after" | sed 's/^/    /'
	e2e_ok "no other segment's rx/tx counter moved on h1 or h2"
done
e2e_pass
