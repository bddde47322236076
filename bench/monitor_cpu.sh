#!/bin/bash
# What `ovx monitor` costs with N learned FDB entries (docs/OPERATIONS.md,
# "Monitor"): a throwaway instance in a namespace of its own, N learned
# entries written with bpftool batch, the monitor run for S seconds, its CPU
# time from /proc. Usage: N=100000 S=30 INTERVAL=1 bash bench/monitor_cpu.sh
set -euo pipefail
OVX=${OVX:-$(dirname "$0")/../build/ovx}
N=${N:-100000} S=${S:-30} INTERVAL=${INTERVAL:-1}
NS=ovxmoncpu$$
work=$(mktemp -d)
cleanup() {
	[[ -n ${mon:-} ]] && kill -INT "$mon" 2>/dev/null && wait "$mon" 2>/dev/null
	"$OVX" --netns "$NS" down >/dev/null 2>&1 || true
	ip netns del "$NS" 2>/dev/null || true
	# The writer lock file outlives its instance by design; this one's name is ours.
	rm -f "/run/ovx/$NS.lock"
	rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link add eth1 type veth peer name eth1p
ip -n "$NS" link add vm1 type veth peer name vm1p
for l in eth1 eth1p vm1 vm1p lo; do ip -n "$NS" link set "$l" up; done
ip -n "$NS" addr add 192.168.99.1/24 dev eth1
cat >"$work/c.yaml" <<EOT
underlay:
  interface: eth1
  address: 192.168.99.1
  mode: tc
segments:
  - name: seg
    tenant: t
    encap: vxlan
    id: 5001
    learning: true
    aging: 3600
    flood: [192.168.99.2]
    ports:
      - interface: vm1
        mac: 02:00:00:00:00:01
EOT
"$OVX" --netns "$NS" apply -f "$work/c.yaml" >/dev/null
pin=/sys/fs/bpf/ovx/$NS
sid=$(bpftool map dump pinned "$pin/ovx_vni" -j | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(int(d[0]["value"][0],16))')
/usr/bin/python3 - "$pin/ovx_fdb" "$sid" "$N" >"$work/batch" <<'PY'
import sys, time, struct
path, sid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
now = time.monotonic_ns()
def hx(b): return " ".join("%02x" % c for c in b)
vtep = bytes([2,0,0,0]) + bytes([192,168,99,2]) + bytes(12)
for i in range(n):
    key = struct.pack("<I", sid) + bytes([2,0x10,(i>>24)&255,(i>>16)&255,(i>>8)&255,i&255]) + bytes(2)
    val = struct.pack("<BBHI", 2, 2, 0, 0) + vtep + struct.pack("<IQ", 0, now)
    print("map update pinned %s key hex %s value hex %s" % (path, hx(key), hx(val)))
PY
bpftool batch file "$work/batch" >/dev/null
echo "entries: $(bpftool map dump pinned "$pin/ovx_fdb" -j | /usr/bin/python3 -c "import json,sys; print(len(json.load(sys.stdin)))")"
"$OVX" --netns "$NS" monitor --interval "$INTERVAL" >"$work/mon.out" 2>"$work/mon.err" &
mon=$!
sleep 2 # the baseline read
read -r u0 s0 < <(awk '{print $14, $15}' /proc/$mon/stat)
sleep "$S"
read -r u1 s1 < <(awk '{print $14, $15}' /proc/$mon/stat)
hz=$(getconf CLK_TCK)
echo "monitor: $(( (u1-u0+s1-s0) * 1000 / hz )) ms CPU over ${S}s at --interval $INTERVAL with $N learned entries ($(/usr/bin/python3 -c "print(round(100*($u1-$u0+$s1-$s0)/$hz/$S,1))")% of one core); RSS $(awk '/VmRSS/{print $2}' /proc/$mon/status) kB; events: $(wc -l <"$work/mon.out"); $(cat "$work/mon.err")"
