#!/usr/bin/env bash
# On a device that cannot offload (a veth), `ovx offload attach` and `ovx
# apply` with `mode: offload` fail with exit 2, naming the interface and its
# driver and suggesting `mode: native`, and leave nothing attached or pinned.
# Runs in its own namespace, removed on exit.
set -euo pipefail
: "${OVX:?set OVX to the ovx binary}"
ns=ovx-offload-$$
dir=$(mktemp -d)
pins=/sys/fs/bpf/ovx/$ns
cleanup() {
	"$OVX" --netns "$ns" down >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

ip netns add "$ns"
ip -n "$ns" link add ul0 type veth peer name ul0p
ip -n "$ns" link set ul0 up
ip -n "$ns" link set ul0p up
cat >"$dir/offload.yaml" <<YAML
underlay: {interface: ul0, address: 192.0.2.1, mode: offload}
segments:
  - {name: blue, tenant: blue, id: 5001, flood: [192.0.2.2]}
YAML

rc=0
"$OVX" --netns "$ns" offload attach -f "$dir/offload.yaml" >"$dir/out" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "exit $rc, not 2: $(cat "$dir/out")"
for word in "ul0" "driver veth" "mode: native"; do
	grep -F "$word" "$dir/out" >/dev/null || fail "the message does not say '$word': $(cat "$dir/out")"
done
ip -n "$ns" -d link show ul0 >"$dir/link"
grep xdp "$dir/link" >/dev/null && fail "something stayed attached: $(cat "$dir/link")"

rc=0
"$OVX" --netns "$ns" apply -f "$dir/offload.yaml" >"$dir/out" 2>&1 || rc=$?
[[ $rc == 2 ]] || fail "apply with mode: offload exits $rc, not 2: $(cat "$dir/out")"
for word in "ul0" "driver veth" "mode: native"; do
	grep -F "$word" "$dir/out" >/dev/null || fail "apply does not say '$word': $(cat "$dir/out")"
done
ip -n "$ns" -d link show ul0 >"$dir/link"
grep xdp "$dir/link" >/dev/null && fail "apply left XDP attached: $(cat "$dir/link")"
[[ ! -e $pins ]] || fail "apply left pins: $(ls -R "$pins")"
fwd=$(ip netns exec "$ns" sysctl -n net.ipv4.conf.ul0.forwarding)
[[ $fwd == 0 ]] || fail "apply left IPv4 forwarding on for ul0"

rc=0
"$OVX" --netns "$ns" offload detach --interface ul0 >"$dir/out" 2>&1 || rc=$?
[[ $rc == 0 ]] || fail "detach with nothing attached exits $rc: $(cat "$dir/out")"
grep "no offload program attached" "$dir/out" >/dev/null || fail "detach says: $(cat "$dir/out")"
echo "offload attach on a veth: refused cleanly"
