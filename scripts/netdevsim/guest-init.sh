#!/bin/busybox sh
# /init of the netdevsim test VM: creates a netdevsim device, puts the offload
# program on it in XDP hardware mode with ovx, reads it back, takes it off
# again, and checks that a device without offload refuses cleanly. Every step
# prints one "OVX-STEP name ok|FAIL" line on the serial console; the host
# side (run.sh) reads them. The VM powers off at the end whatever happens.
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/bin:/sbin
# busybox sh prefers its own applets to PATH: iproute2 by full path.
ip2=/usr/local/bin/ip
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
mount -t tmpfs tmp /tmp

failed=0
step() { # NAME COMMAND...: run it, show its output, record the outcome
	name=$1
	shift
	echo "--- $name: $*"
	if "$@" >/tmp/out 2>&1; then
		cat /tmp/out
		echo "OVX-STEP $name ok"
	else
		cat /tmp/out
		echo "OVX-STEP $name FAIL"
		failed=1
	fi
}
has() { grep "$1" /tmp/out >/dev/null; }

ip link set lo up
echo "1 1" >/sys/bus/netdevsim/new_device
i=0
while ! ls /sys/bus/netdevsim/devices/netdevsim1/net/ 2>/dev/null | grep . >/dev/null; do
	i=$((i + 1))
	[ $i -gt 50 ] && break
	sleep 0.1
done
nic=$(ls /sys/bus/netdevsim/devices/netdevsim1/net/ | head -n1)
echo "OVX-NIC ${nic:-none}"
ip link set "$nic" up
# A resolved next hop for the remote VTEP, so that the relay gets an entry.
$ip2 addr add 192.0.2.1/24 dev "$nic"
$ip2 neigh replace 192.0.2.2 lladdr 02:00:00:00:00:02 dev "$nic" nud permanent

cat >/tmp/nic.yaml <<YAML
underlay: {interface: $nic, address: 192.0.2.1, mode: offload}
segments:
  - name: blue
    tenant: blue
    id: 5001
    flood: [192.0.2.2]
    remotes:
      - {mac: "02:00:00:00:02:01", vtep: 192.0.2.2}
YAML
sed "s/interface: $nic/interface: lo/" /tmp/nic.yaml >/tmp/lo.yaml

# netdevsim holds offloaded maps of at most 2 entries.
step attach ovx offload attach -f /tmp/nic.yaml --max-entries 2 --relay --json
has '"offloaded": true' || { echo "OVX-STEP attach-readback FAIL"; failed=1; }
has '"relay": 1' || { echo "OVX-STEP attach-relay-entry FAIL"; failed=1; }
step link $ip2 -d link show "$nic"
has 'xdpoffload' || { echo "OVX-STEP link-xdpoffload FAIL"; failed=1; }
step bpftool bpftool prog show
has "offloaded_to $nic" || { echo "OVX-STEP bpftool-offloaded FAIL"; failed=1; }
# The device's hardware mode is taken: a second attach is refused, saying so.
if ovx offload attach -f /tmp/nic.yaml --max-entries 2 >/tmp/out 2>&1; then
	cat /tmp/out
	echo "OVX-STEP second-attach FAIL"
	failed=1
else
	cat /tmp/out
	if has "another program runs on it"; then echo "OVX-STEP second-attach ok"; else echo "OVX-STEP second-attach FAIL"; failed=1; fi
fi
step detach ovx offload detach --interface "$nic"
step link-after $ip2 -d link show "$nic"
has 'xdpoffload' && { echo "OVX-STEP link-after-clean FAIL"; failed=1; }

# `ovx apply` with mode: offload: the host programs in native mode and the
# offload program on the NIC, both on the same device; `down` removes both.
cat >/tmp/apply.yaml <<YAML
underlay: {interface: $nic, address: 192.0.2.1, mode: offload}
segments:
  - name: blue
    tenant: blue
    id: 5001
    flood: [192.0.2.2]
YAML
export OVX_OFFLOAD_MAX_ENTRIES=2
step apply ovx apply -f /tmp/apply.yaml
step apply-link $ip2 -d link show "$nic"
has 'xdpoffload' || { echo "OVX-STEP apply-xdpoffload FAIL"; failed=1; }
has 'xdpdrv\|prog/xdp id' || { echo "OVX-STEP apply-xdpdrv FAIL"; failed=1; }
step apply-again ovx apply -f /tmp/apply.yaml
# An imperative verb re-applies what the instance says it runs: the mode
# stays offload and the NIC keeps its program; export says offload too.
step imperative ovx fdb add 02:00:00:00:09:01 --segment blue --vtep 192.0.2.2
step imperative-link $ip2 -d link show "$nic"
has 'xdpoffload' || { echo "OVX-STEP imperative-keeps-offload FAIL"; failed=1; }
step export ovx export
has 'mode: offload' || { echo "OVX-STEP export-offload FAIL"; failed=1; }
step nic-stats ovx offload stats --json
has '"relayed"' || { echo "OVX-STEP nic-stats-read FAIL"; failed=1; }
step apply-show ovx show
has 'xdp offload' || { echo "OVX-STEP apply-show-offload FAIL"; failed=1; }
step down ovx down
step down-link $ip2 -d link show "$nic"
has 'xdp' && { echo "OVX-STEP down-clean FAIL"; failed=1; }
[ -e /sys/fs/bpf/ovx ] && { echo "OVX-STEP down-pins FAIL"; failed=1; }

# The relay from the file: `offload: {relay: true}` fills the device's relay
# map from the static remote (the next hop is resolved above).
sed 's/mode: offload}/mode: offload, offload: {relay: true}}/' /tmp/nic.yaml >/tmp/relay.yaml
grep 'relay: true' /tmp/relay.yaml >/dev/null || { echo "OVX-STEP relay-yaml FAIL"; failed=1; }
step apply-relay ovx apply -f /tmp/relay.yaml
step apply-relay-link $ip2 -d link show "$nic"
has 'xdpoffload' || { echo "OVX-STEP apply-relay-xdpoffload FAIL"; failed=1; }
step apply-relay-map sh -c 'bpftool map dump pinned /sys/fs/bpf/ovx/*/offload/ovx_off_relay'
has '1 element' || has 'Found 1 element' || { echo "OVX-STEP apply-relay-entry FAIL"; failed=1; }
# An imperative verb re-applies what the instance runs: the relay stays on,
# and export writes it.
step apply-relay-imperative ovx fdb add 02:00:00:00:09:01 --segment blue --vtep 192.0.2.2
step apply-relay-export ovx export
has 'relay: true' || { echo "OVX-STEP apply-relay-export-relay FAIL"; failed=1; }
step apply-relay-map-after sh -c 'bpftool map dump pinned /sys/fs/bpf/ovx/*/offload/ovx_off_relay'
has 'Found 2 elements' || { echo "OVX-STEP apply-relay-imperative-entries FAIL"; failed=1; }
step apply-relay-down ovx down
[ -e /sys/fs/bpf/ovx ] && { echo "OVX-STEP apply-relay-pins FAIL"; failed=1; }

# A device that cannot offload: refused, naming it, and nothing attached.
if ovx offload attach -f /tmp/lo.yaml --max-entries 2 >/tmp/out 2>&1; then
	cat /tmp/out
	echo "OVX-STEP refuse-lo FAIL"
	failed=1
else
	cat /tmp/out
	if has "lo" && has "native"; then echo "OVX-STEP refuse-lo ok"; else echo "OVX-STEP refuse-lo FAIL"; failed=1; fi
fi
$ip2 -d link show lo >/tmp/out 2>&1
has xdp && { echo "OVX-STEP lo-clean FAIL"; failed=1; }

echo "OVX-RESULT $failed"
reboot -f
