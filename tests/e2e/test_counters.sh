#!/usr/bin/env bash
# Known traffic gives exact counters: pings between two hosts count exactly
# in their segment (packets and bytes, both directions, nothing in the other
# tenant), and crafted frames from the underlay and from a VM count exactly
# once under the drop reason they provoke (unknown VNI, not our VTEP,
# fragment, malformed, unsupported flags, unknown VTEP, split horizon,
# spoofed source MAC, hairpin, MTU exceeded, no route to a remote VTEP),
# every other counter unchanged; `stats --watch` gives rates.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/counters.sh"

counters_topology test_counters "exact per-segment counters and drops by reason"
PINGS=7
FRAME=98 # ICMP echo, 56 bytes of data: 14 + 20 + 8 + 56

e2e_step "$PINGS pings b1 (h1) -> b2 (h2): exact packets and bytes per segment"
h1_0=$(stats_snapshot h1 h1-0)
h2_0=$(stats_snapshot h2 h2-0)
e2e_stat fdb h1 "$BLUE" fdb_entries
((fdb == 2)) || e2e_fail "h1 $BLUE: fdb_entries $fdb, want 2 (b1's port, b2 behind h2)"
e2e_ok "h1 $BLUE: fdb_entries 2"
ping_exact b1 "$(topo_vm_ip b2)" "$PINGS"
sleep 0.3
h1_1=$(stats_snapshot h1 h1-1)
h2_1=$(stats_snapshot h2 h2-1)
for h in h1 h2; do
	before=${h}_0 after=${h}_1
	expect_deltas "$h" "${!before}" "${!after}" \
		"segment:$BLUE:tx_packets=$PINGS" "segment:$BLUE:tx_bytes=$((PINGS * FRAME))" \
		"segment:$BLUE:rx_packets=$PINGS" "segment:$BLUE:rx_bytes=$((PINGS * FRAME))"
done

e2e_step "crafted overlay frames from h2's underlay to h1: one drop reason each"
H1_MAC=$(host_mac h1)
B2_MAC=$(topo_vm_mac b2)
inject_from_host h2 3 vxlan --dst-mac "$H1_MAC" --vni 9999
inject_from_host h2 2 vxlan --dst-mac "$H1_MAC" --dst-ip 192.168.77.99
inject_from_host h2 4 fragment --dst-mac "$H1_MAC"
inject_from_host h2 5 truncated --dst-mac "$H1_MAC"
inject_from_host h2 6 noflag --dst-mac "$H1_MAC"
inject_from_host h2 7 vxlan --dst-mac "$H1_MAC" --src-ip 192.168.77.50
# b2's MAC lives behind h2: an overlay frame for it must not come back out.
inject_from_host h2 8 vxlan --dst-mac "$H1_MAC" --inner-dst "$B2_MAC"

e2e_step "frames from VM b1 that h1 must refuse"
B1_MAC=$(topo_vm_mac b1)
inject_from_vm b1 9 eth --src-mac 02:00:00:00:99:99 --dst-mac "$B2_MAC"
inject_from_vm b1 2 eth --src-mac "$B1_MAC" --dst-mac "$B1_MAC"
# A 1514-byte frame does not fit the 1500-byte underlay once encapsulated.
topo_do topo_vm_exec b1 ip link set eth0 mtu 1500
topo_do topo_host_exec h1 ip link set "$(topo_vm_port b1)" mtu 1500
if topo_vm_exec b1 ping -n -q -M do -s 1472 -c 3 -i 0.2 -W 1 "$(topo_vm_ip b2)" >/dev/null 2>&1; then
	e2e_fail "b1 -> b2 with 1472-byte pings: answered, want dropped (MTU)"
fi
e2e_ok "b1 -> b2: 3 pings of 1514-byte frames, none answered"
sleep 0.3
h1_2=$(stats_snapshot h1 h1-2)
h2_2=$(stats_snapshot h2 h2-2)
expect_deltas h1 "$h1_1" "$h1_2" \
	unassigned:unknown_vni=3 unassigned:not_our_vtep=2 unassigned:fragment=4 \
	unassigned:malformed=5 unassigned:unsupported_flags=6 \
	"segment:$BLUE:drops.unknown_vtep=7" "segment:$BLUE:drops.split_horizon=8" \
	"segment:$BLUE:drops.spoofed_src=9" "segment:$BLUE:drops.hairpin=2" \
	"segment:$BLUE:drops.mtu_exceeded=3"
expect_deltas h2 "$h2_1" "$h2_2"

e2e_step "a remote VTEP without a route: frames to the MAC behind it are dropped as no_route"
NOROUTE="$TOPO_DIR/h1-noroute.yaml"
# The blue segment's remotes list gets one more MAC, behind 10.255.0.1,
# which h1 has no route to.
/usr/bin/python3 - "$(topo_config_file h1)" "$NOROUTE" "$BLUE" <<'PY' || e2e_fail "cannot write $NOROUTE"
import sys
src, dst, seg = sys.argv[1:4]
out, in_seg = [], False
for line in open(src):
    out.append(line)
    if line.strip().startswith("- name:"):
        in_seg = line.split(":", 1)[1].strip() == seg
    if in_seg and line.strip() == "remotes:":
        out += ["      - mac: 02:00:00:00:0e:01\n", "        vtep: 10.255.0.1\n"]
        in_seg = False
open(dst, "w").write("".join(out))
PY
grep 10.255.0.1 "$NOROUTE" >/dev/null || e2e_fail "no remotes list for $BLUE in $(topo_config_file h1)"
ovx_apply h1 "$NOROUTE" || e2e_fail "apply $NOROUTE: exit $OVX_RC: $OVX_OUT"
h1_3=$(stats_snapshot h1 h1-3)
inject_from_vm b1 4 eth --src-mac "$B1_MAC" --dst-mac 02:00:00:00:0e:01
sleep 0.3
h1_4=$(stats_snapshot h1 h1-4)
expect_deltas h1 "$h1_3" "$h1_4" "segment:$BLUE:drops.no_route=4"

e2e_step "ovx stats --watch: rates over an interval while b1 pings b2 (5 per second)"
ovx_bg h1 watch stats --watch --interval 2 --count 1 --json --segment "$BLUE"
topo_do topo_vm_exec b1 ip link set eth0 mtu 1450 # back from the MTU step
ping_exact b1 "$(topo_vm_ip b2)" 10
for ((i = 0; i < 100; i++)); do kill -0 "$(topo_bg_pid watch)" 2>/dev/null || break; sleep 0.1; done
wait "$(topo_bg_pid watch)" || e2e_fail "ovx stats --watch: exit $?: $(cat "$(topo_bg_out watch)")"
/usr/bin/python3 - "$(topo_bg_out watch)" "$BLUE" <<'PY' || e2e_fail "ovx stats --watch --json: $(cat "$(topo_bg_out watch)")"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert len(lines) == 1, lines
doc = json.loads(lines[0])
rates, totals = doc["rates"], doc["totals"]
assert 1.9 < rates["interval"] < 3, rates["interval"]
(seg,) = rates["segments"]
assert seg["name"] == sys.argv[2], seg
# 10 pings 0.2 s apart start right after the first reading: most fall inside.
assert 2.0 <= seg["tx_packets"] <= 5.5, seg
assert abs(seg["tx_bytes"] - seg["tx_packets"] * 98) < 1e-6 * seg["tx_bytes"], seg
assert [s["name"] for s in totals["segments"]] == [sys.argv[2]], totals
print("    tx %.2f packets/s over %.2f s" % (seg["tx_packets"], rates["interval"]))
PY
e2e_ok "one reading with per-second rates and totals, only $BLUE"

e2e_pass
