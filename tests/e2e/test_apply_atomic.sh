#!/usr/bin/env bash
# An apply that the system refuses changes nothing: not on a fresh host
# (no pins, no hooks, forwarding as it was), not on a running instance (its
# XDP program stays in its mode, its TC filter stays), and a second instance
# pointed at a running instance's underlay is refused without touching it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

e2e_init test_apply_atomic "a refused apply changes nothing"
e2e_build_topology "ovx ovx" "blue:5001"
NS=$(topo_host_ns h1)
CONF=$(topo_config_file h1)
PORT=$(topo_vm_port b1)

fwd() { ip netns exec "$NS" sysctl -n "net.ipv4.conf.$1.forwarding"; }

# A foreign XDP program attached outside libxdp's dispatcher, as an older
# tool would: libxdp refuses to share the interface with it.
cat >"$TOPO_DIR/pass.bpf.c" <<'C'
#include <linux/bpf.h>
__attribute__((section("xdp"), used)) int pass(struct xdp_md *ctx) { return XDP_PASS; }
char LICENSE[] __attribute__((section("license"), used)) = "GPL";
C
clang -target bpf -O2 -I"/usr/include/$(gcc -print-multiarch)" -c "$TOPO_DIR/pass.bpf.c" -o "$TOPO_DIR/pass.bpf.o" ||
	e2e_fail "cannot build the foreign XDP program"

ovx_apply h2 || e2e_fail "apply on h2: exit $OVX_RC: $OVX_OUT"

e2e_step "fresh host, XDP refused: nothing left behind"
ip netns exec "$NS" sysctl -qw net.ipv4.conf.eth1.forwarding=0
ip -n "$NS" link set dev eth1 xdpdrv obj "$TOPO_DIR/pass.bpf.o" sec xdp ||
	e2e_fail "cannot attach the foreign XDP program"
ovx_apply h1
((OVX_RC == 2)) || e2e_fail "apply with eth1 held: exit $OVX_RC, want 2: $OVX_OUT"
e2e_info "refused: $(head -1 <<<"$OVX_OUT")"
[[ $(fwd eth1) == 0 ]] || e2e_fail "forwarding on eth1 left on by a refused apply"
[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "pins left: $(ls "$(ovx_pin_dir h1)")"
! ovx_tc_attached h1 eth1 || e2e_fail "TC left on eth1"
! ovx_tc_attached h1 "$PORT" || e2e_fail "TC left on $PORT"
[[ ! -e /run/ovx/$(ovx_instance h1).pending ]] || e2e_fail "change log left behind"
ip -n "$NS" link set dev eth1 xdpdrv off
e2e_ok "exit 2; no pins, no TC, forwarding still off, no change log"

e2e_step "running instance, mode change refused: the working XDP stays"
ovx_apply h1 || e2e_fail "apply: exit $OVX_RC: $OVX_OUT"
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
[[ $(fwd eth1) == 1 ]] || e2e_fail "forwarding not on after apply"
# A bridge has generic XDP only: native is refused after generic is off.
ip -n "$NS" link add ovxbr9 type bridge && ip -n "$NS" link set ovxbr9 up &&
	ip -n "$NS" addr add 192.168.99.1/24 dev ovxbr9 || e2e_fail "cannot make a bridge"
sed 's/^  interface: eth1$/  interface: ovxbr9/; s/^  address: .*/  address: 192.168.99.1/; s/^  mode: .*/  mode: generic/; s/flood: \[.*\]/flood: [192.168.99.2]/' \
	"$CONF" >"$TOPO_DIR/br-generic.yaml"
sed 's/^  mode: .*/  mode: native/' "$TOPO_DIR/br-generic.yaml" >"$TOPO_DIR/br-native.yaml"
ovx_apply h1 "$TOPO_DIR/br-generic.yaml" || e2e_fail "apply on the bridge (generic): exit $OVX_RC: $OVX_OUT"
ip -n "$NS" link show ovxbr9 | grep -w xdpgeneric >/dev/null || e2e_fail "no generic XDP on ovxbr9"
! ovx_xdp_attached h1 eth1 || e2e_fail "XDP left on eth1 after the underlay moved"
[[ $(fwd eth1) == 0 ]] || e2e_fail "forwarding on eth1 not given back after the underlay moved"
before=$("$OVX" --netns "$NS" show --json)
ovx_apply h1 "$TOPO_DIR/br-native.yaml"
((OVX_RC == 2)) || e2e_fail "native XDP on a bridge: exit $OVX_RC, want 2: $OVX_OUT"
e2e_info "refused: $(head -1 <<<"$OVX_OUT")"
ip -n "$NS" link show ovxbr9 | grep -w xdpgeneric >/dev/null ||
	e2e_fail "the working generic XDP program is gone: $(ip -n "$NS" link show ovxbr9)"
ovx_tc_attached h1 ovxbr9 || e2e_fail "TC on ovxbr9 gone after a refused apply"
after=$("$OVX" --netns "$NS" show --json)
[[ $before == "$after" ]] || e2e_fail "show differs after a refused apply"
e2e_ok "exit 2; generic XDP and TC still on ovxbr9, show unchanged"

e2e_step "back to eth1; a second instance on the same underlay is refused"
ovx_apply h1 || e2e_fail "apply: exit $OVX_RC: $OVX_OUT"
ip -n "$NS" link del ovxbr9
topo_neigh_flush $(topo_vms)
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
other="$(ovx_instance h1)-2"
OVX_OUT=$("$OVX" --netns "$NS" --instance "$other" apply -f "$CONF" 2>&1)
OVX_RC=$?
if ((OVX_RC == 0)); then
	"$OVX" --netns "$NS" --instance "$other" down >/dev/null 2>&1
	e2e_fail "a second instance took eth1: $OVX_OUT"
fi
e2e_info "refused: exit $OVX_RC: $(head -1 <<<"$OVX_OUT")"
[[ ! -e $OVX_BPF_ROOT/$other ]] || e2e_fail "the refused instance left pins"
ovx_tc_attached h1 eth1 || e2e_fail "the running instance lost its TC filter on eth1"
ovx_run h1 status --json >/dev/null || e2e_fail "status of the running instance: $OVX_OUT"
e2e_expect_ping b1 "$(topo_vm_ip b2)" 3
rm -f "/run/ovx/$other.lock"
e2e_ok "second instance refused; the first one's hooks and traffic untouched"

e2e_pass
