#!/usr/bin/env bash
# ovx monitor: a JSON monitor started before the agent hears it start and
# apply; a MAC is learned behind h2, moves behind h3 (the VM migrated) and
# ages out (aging 6 s); drift (XDP detached, a map entry deleted) is
# repaired and said; SIGHUP reloads; SIGTERM stops the agent; a manual
# `ovx apply`, an imperative verb and `ovx down` are heard too (a monitor
# outlives the instance and hears it applied again). Each expected event
# appears exactly once with exactly the expected fields. A text monitor
# filtered to one segment's FDB events sees those alone. Monitors end with
# 0 on SIGINT and when their output is closed, and remove their sockets.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_monitor "ovx monitor: learn, move, age-out, drift, apply, agent events"
command -v bpftool >/dev/null || PATH=$PATH:/usr/sbin
command -v bpftool >/dev/null || e2e_fail "bpftool not installed"
/usr/bin/python3 -c 'import scapy.all' 2>/dev/null || e2e_fail "/usr/bin/python3 has no scapy"
TOPO_STATIC_REMOTES=0 TOPO_LEARNING=true e2e_build_topology "ovx ovx ovx" "blue:5001"
H1=$(topo_host_ns h1)
PIN=$(ovx_pin_dir h1)
CONF=$(topo_config_file h1)
BLUE=$(topo_tenant_segment blue)
B2MAC=$(topo_vm_mac b2)
B2IP=$(topo_vm_ip b2)
H2ADDR=$(topo_host_addr h2)
H3ADDR=$(topo_host_addr h3)
sed -i 's/^    learning: true$/    learning: true\n    aging: 6/' "$CONF"
grep -q '^    aging: 6$' "$CONF" || e2e_fail "could not set aging in $CONF"

# Only the frames this test sends teach h1 anything: no IPv6 chatter
# (router solicitations, DAD) from the VMs.
for vm in $(topo_vms); do
	topo_vm_exec "$vm" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.eth0.disable_ipv6=1 ||
		e2e_fail "cannot turn IPv6 off in $vm"
done

# garp VM MAC IP: one gratuitous ARP from VM's eth0 with source MAC.
garp() {
	topo_vm_exec "$1" /usr/bin/python3 -c '
import sys
from scapy.all import ARP, Ether, sendp
mac, ip = sys.argv[1], sys.argv[2]
sendp(Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") /
      ARP(op=1, hwsrc=mac, psrc=ip, hwdst="00:00:00:00:00:00", pdst=ip),
      iface="eth0", count=1, verbose=False)' "$2" "$3" || e2e_fail "scapy could not send from $1"
}

# count FILE KEY=VALUE...: JSON events in FILE with exactly these fields
# (KEY=VALUE, or KEY~ for a field that must be there, any value), besides
# time and event; KEY=VALUE for event is required.
count() {
	/usr/bin/python3 - "$@" <<'EOF'
import json, sys
path, *conds = sys.argv[1:]
want, anyval = {}, set()
for c in conds:
    if c.endswith("~"):
        anyval.add(c[:-1])
    else:
        k, v = c.split("=", 1)
        want[k] = v
n = 0
for line in open(path):
    e = json.loads(line)
    if set(e) - {"time"} != set(want) | anyval:
        continue
    if all(str(e[k]) == v for k, v in want.items()):
        n += 1
print(n)
EOF
}

# wait_event FILE SECONDS KEY=VALUE...: 0 once such an event is in FILE.
wait_event() {
	local file=$1 secs=$2 i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		(($(count "$file" "$@") > 0)) && return 0
		sleep 0.1
	done
	return 1
}

# expect_once FILE KEY=VALUE...: exactly one such event in FILE.
expect_once() {
	local file=$1 n
	shift
	n=$(count "$file" "$@") || e2e_fail "$file is not one JSON event per line: $(cat "$file")"
	((n == 1)) || e2e_fail "want exactly one event $*, got $n: $(cat "$file")"
	e2e_ok "once: $*"
}

# start_monitor NAME ARGS...: `ovx --netns H1 monitor ARGS` in the
# background, output in $TOPO_DIR/NAME.out; PID in ${MON_PID[NAME]}.
declare -A MON_PID=()
# Before ovx_cleanup_hook's `ovx down`: a monitor still running would make
# its socket's directory again.
stop_monitors() {
	local pid
	for pid in "${MON_PID[@]}"; do
		kill -INT "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	done
	MON_PID=()
	return 0
}
TOPO_CLEANUP_HOOKS=(stop_monitors "${TOPO_CLEANUP_HOOKS[@]}")
start_monitor() {
	local name=$1
	shift
	"$OVX" --netns "$H1" monitor "$@" >"$TOPO_DIR/$name.out" 2>"$TOPO_DIR/$name.err" </dev/null &
	MON_PID[$name]=$!
	TOPO_PIDS+=("$!")
}
stop_monitor() {
	local pid=${MON_PID[$1]} rc
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	unset "MON_PID[$1]"
	((rc == 0)) || e2e_fail "monitor $1 ended with $rc after SIGINT: $(cat "$TOPO_DIR/$1.err")"
	[[ -e /run/ovx/$H1/monitors/$pid.sock ]] && e2e_fail "monitor $1 left its socket"
	e2e_ok "monitor $1: exit 0 on SIGINT, socket removed"
}

e2e_step "h2 and h3 applied; b3's port takes b2's MAC (the VM will move there)"
sed -i "s/mac: $(topo_vm_mac b3)/mac: $B2MAC/" "$(topo_config_file h3)"
for h in h2 h3; do ovx_apply "$h" || e2e_fail "apply on $h: $OVX_OUT"; done

e2e_step "monitors on h1 before its agent: --json (all), and text (fdb of $BLUE)"
start_monitor json --json --interval 0.2
start_monitor text --segment "$BLUE" --interval 0.2 fdb
for ((i = 0; i < 50; i++)); do
	(($(ls /run/ovx/"$H1"/monitors/*.sock 2>/dev/null | wc -l) == 2)) && break
	sleep 0.1
done
(($(ls /run/ovx/"$H1"/monitors/*.sock 2>/dev/null | wc -l) == 2)) ||
	e2e_fail "monitors do not listen: $(cat "$TOPO_DIR"/*.err)"
J=$TOPO_DIR/json.out

e2e_step "the agent starts: agent-start, apply"
ovx_agent_start h1 "$CONF" --interval 0.5 --metrics 127.0.0.1:9587 || e2e_fail "agent on h1 did not apply: $(cat "$(ovx_agent_log h1)")"
APID=$(ovx_agent_pid h1)
wait_event "$J" 20 event=apply by=agent pid="$APID" reason=start added~ changed~ removed=0 ||
	e2e_fail "no apply event: $(cat "$J")"
expect_once "$J" event=agent-start pid="$APID" file="$CONF"
sleep 0.5 # the monitor's first read of the new dataplane is its baseline

e2e_step "b2 sends: h1 learns $B2MAC behind h2"
# b3 takes the MAC now (silently: no ARP on a MAC change, no IPv6), so that
# the move follows the learn well within the aging time.
topo_vm_exec b3 ip link set dev eth0 address "$B2MAC" || e2e_fail "cannot give b3 b2's MAC"
garp b2 "$B2MAC" "$B2IP"
wait_event "$J" 20 event=learn segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H2ADDR" ||
	e2e_fail "no learn event: $(cat "$J")"

e2e_step "the VM moves to h3 and sends from there: a move"
garp b3 "$B2MAC" "$B2IP"
wait_event "$J" 20 event=move segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H3ADDR" from="$H2ADDR" ||
	e2e_fail "no move event: $(cat "$J")"

e2e_step "silence: the entry ages out (aging 6 s)"
wait_event "$J" 20 event=age-out segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H3ADDR" age~ ||
	e2e_fail "no age-out event: $(cat "$J")"
age=$(grep '"age-out"' "$J" | grep "$B2MAC" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["age"])')
/usr/bin/python3 -c "import sys; sys.exit(not 6 <= $age < 8)" || e2e_fail "aged out at $age s, want 6-8"
e2e_ok "aged out after $age s"

e2e_step "drift: XDP detached, the port's map entry deleted"
port=$(topo_vm_port b1)
ifindex=$(ip netns exec "$H1" cat "/sys/class/net/$port/ifindex")
key=$(printf '%02x %02x %02x %02x' $((ifindex & 255)) $((ifindex >> 8 & 255)) $((ifindex >> 16 & 255)) $((ifindex >> 24)))
ip -n "$H1" link set dev eth1 xdp off || e2e_fail "could not detach XDP from eth1"
wait_event "$J" 20 event=drift hook="XDP (native) on eth1" found=detached repair=attached ||
	e2e_fail "no drift event for XDP: $(cat "$J")"
bpftool map delete pinned "$PIN/ovx_ports" key hex $key || e2e_fail "bpftool could not delete the port entry"
wait_event "$J" 20 event=drift map=ovx_ports key="interface $port" found=missing repair=restored ||
	e2e_fail "no drift event for ovx_ports: $(cat "$J")"

e2e_step "the agent's metrics: up, repairs counted, reconciled just now"
scrape=$(ip netns exec "$H1" /usr/bin/python3 -c '
import urllib.request
print(urllib.request.urlopen("http://127.0.0.1:9587/metrics", timeout=5).read().decode())') ||
	e2e_fail "no /metrics from the agent"
metric() { awk -v n="$1" '$1 == n {print $2}' <<<"$scrape"; }
[[ $(metric ovx_agent_up) == 1 ]] || e2e_fail "ovx_agent_up is '$(metric ovx_agent_up)', want 1"
(($(metric ovx_agent_drift_repairs_total) >= 2)) ||
	e2e_fail "ovx_agent_drift_repairs_total is '$(metric ovx_agent_drift_repairs_total)' after 2 repairs"
age=$(($(date +%s) - $(metric ovx_agent_last_reconcile_timestamp_seconds)))
((age >= 0 && age < 5)) || e2e_fail "last reconcile $age s ago with --interval 0.5"
[[ $(metric ovx_agent_last_reconcile_failed) == 0 ]] || e2e_fail "ovx_agent_last_reconcile_failed is not 0"
e2e_ok "ovx_agent_up 1, $(metric ovx_agent_drift_repairs_total) repairs, last reconcile ${age}s ago"

e2e_step "SIGHUP: agent-reload, apply"
kill -HUP "$APID"
wait_event "$J" 20 event=apply by=agent pid="$APID" reason=reload added=0 changed=0 removed=0 ||
	e2e_fail "no apply event after SIGHUP: $(cat "$J")"

e2e_step "SIGTERM: agent-stop; then a manual ovx apply"
ovx_agent_stop h1 TERM || e2e_fail "agent exit status $? after SIGTERM"
wait_event "$J" 20 event=agent-stop pid="$APID" signal=Terminated || e2e_fail "no agent-stop: $(cat "$J")"
ovx_run h1 apply -f "$CONF" || e2e_fail "apply: $OVX_OUT"
wait_event "$J" 20 event=apply by="ovx apply" pid~ added=0 changed=0 removed=0 ||
	e2e_fail "no apply event from ovx apply: $(cat "$J")"
ovx_run h1 fdb add 02:00:00:00:0a:0a --segment "$BLUE" --vtep "$H2ADDR" || e2e_fail "fdb add: $OVX_OUT"
wait_event "$J" 20 event=apply by="ovx fdb add" pid~ added=1 changed~ removed=0 ||
	e2e_fail "no apply event from ovx fdb add: $(cat "$J")"

e2e_step "every event exactly once"
expect_once "$J" event=agent-start pid="$APID" file="$CONF"
expect_once "$J" event=apply by=agent pid="$APID" reason=start added~ changed~ removed=0
expect_once "$J" event=learn segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H2ADDR"
expect_once "$J" event=move segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H3ADDR" from="$H2ADDR"
expect_once "$J" event=age-out segment="$BLUE" tenant=blue mac="$B2MAC" vtep="$H3ADDR" age~
expect_once "$J" event=drift hook="XDP (native) on eth1" found=detached repair=attached
expect_once "$J" event=drift map=ovx_ports key="interface $port" found=missing repair=restored
expect_once "$J" event=agent-reload pid="$APID" file="$CONF"
expect_once "$J" event=apply by=agent pid="$APID" reason=reload added=0 changed=0 removed=0
expect_once "$J" event=agent-stop pid="$APID" signal=Terminated
expect_once "$J" event=apply by="ovx apply" pid~ added=0 changed=0 removed=0
expect_once "$J" event=apply by="ovx fdb add" pid~ added=1 changed~ removed=0
n=$(grep -c "$B2MAC" "$J")
((n == 3)) || e2e_fail "$n events name $B2MAC, want 3 (learn, move, age-out): $(cat "$J")"
e2e_ok "$B2MAC: learn, move, age-out and nothing else"
order=$(grep "$B2MAC" "$J" | /usr/bin/python3 -c 'import json,sys; print(" ".join(json.loads(l)["event"] for l in sys.stdin))')
[[ $order == "learn move age-out" ]] || e2e_fail "$B2MAC's events in the order: $order"

e2e_step "the text monitor: $BLUE's FDB events alone, one line each"
stop_monitor json
stop_monitor text
T=$TOPO_DIR/text.out
cat "$T" | sed 's/^/    | /'
ts='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
grep -Ev "^$ts (learn|move|age-out|flush) blue/$BLUE " "$T" && e2e_fail "other lines in the filtered text monitor"
for want in "learn blue/$BLUE $B2MAC vtep $H2ADDR\$" "move blue/$BLUE $B2MAC vtep $H3ADDR from=$H2ADDR\$" \
	"age-out blue/$BLUE $B2MAC vtep $H3ADDR age=[0-9.]+\$"; do
	(($(grep -cE "^$ts $want" "$T") == 1)) || e2e_fail "text monitor: want one line '$want'"
done
e2e_ok "learn, move, age-out of $B2MAC as text; no agent, drift or apply lines"

e2e_step "a monitor whose output is closed ends: | head -1, and | true with no event"
start=$SECONDS
timeout 10 "$OVX" --netns "$H1" monitor | true
rc=${PIPESTATUS[0]}
((rc == 0)) || e2e_fail "monitor | true: exit $rc (124: it did not notice)"
( timeout 10 "$OVX" --netns "$H1" monitor --json | head -1 >"$TOPO_DIR/head.out"; echo "${PIPESTATUS[0]}" >"$TOPO_DIR/head.rc" ) &
headpid=$!
TOPO_PIDS+=("$headpid")
sleep 0.5
ovx_run h1 apply -f "$CONF" || e2e_fail "apply: $OVX_OUT"
wait "$headpid"
[[ $(cat "$TOPO_DIR/head.rc") == 0 ]] || e2e_fail "monitor | head -1: exit $(cat "$TOPO_DIR/head.rc")"
grep -q '"event":"apply"' "$TOPO_DIR/head.out" || e2e_fail "head -1 got: $(cat "$TOPO_DIR/head.out")"
((SECONDS - start < 8)) || e2e_fail "monitors took $((SECONDS - start)) s to notice their output closed"
ls /run/ovx/"$H1"/monitors/*.sock 2>/dev/null && e2e_fail "a monitor left its socket"
e2e_ok "both ended with 0 and removed their sockets"

# monitor_listens NAME: 0 once monitor NAME's socket is in place.
monitor_listens() {
	local i
	for ((i = 0; i < 50; i++)); do
		[[ -S /run/ovx/$H1/monitors/${MON_PID[$1]}.sock ]] && return 0
		sleep 0.1
	done
	return 1
}

e2e_step "ovx down: a down event; the monitor stays and hears the instance applied again"
start_monitor down --json --interval 0.2
D=$TOPO_DIR/down.out
monitor_listens down || e2e_fail "monitor does not listen: $(cat "$TOPO_DIR/down.err")"
ovx_run h1 down || e2e_fail "down: $OVX_OUT"
wait_event "$D" 20 event=down by="ovx down" pid~ || e2e_fail "no down event: $(cat "$D")"
ovx_run h1 down || e2e_fail "second down: $OVX_OUT"
# `ovx down` took the monitors' directory along: the monitor makes its socket again.
monitor_listens down || e2e_fail "monitor does not listen after down: $(cat "$TOPO_DIR/down.err")"
ovx_run h1 apply -f "$CONF" || e2e_fail "apply after down: $OVX_OUT"
wait_event "$D" 20 event=apply by="ovx apply" pid~ added~ changed~ removed=0 ||
	e2e_fail "no apply event after down: $(cat "$D")"
stop_monitor down
expect_once "$D" event=down by="ovx down" pid~
e2e_ok "one down event (the second down found nothing to take down), then the apply"

e2e_pass
