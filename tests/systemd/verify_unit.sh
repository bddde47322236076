#!/usr/bin/env bash
# scripts/systemd/ovx@.service passes `systemd-analyze verify` (syntax,
# directives, the ExecStart binary) with ExecStart pointed at the built
# binary, and keeps the hardening docs/OPERATIONS.md promises.
#   OVX: the binary (default build/ovx)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
OVX=${OVX:-$root/build/ovx}
unit=$root/scripts/systemd/ovx@.service
command -v systemd-analyze >/dev/null || { echo "FAIL: systemd-analyze not installed" >&2; exit 1; }
[[ -x $OVX ]] || { echo "FAIL: no ovx binary at $OVX" >&2; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|/usr/local/sbin/ovx|$OVX|" "$unit" >"$dir/ovx@verify.service"
systemd-analyze verify "$dir/ovx@verify.service"
# The capabilities tests/privilege/test_agent_caps.sh runs the agent with.
caps="CAP_NET_ADMIN CAP_SYS_ADMIN CAP_DAC_OVERRIDE"
for want in "User=ovx" "Group=ovx" "AmbientCapabilities=$caps" "CapabilityBoundingSet=$caps" \
	"RuntimeDirectoryMode=0750" "NoNewPrivileges=yes" "ProtectSystem=strict" "ReadWritePaths=/sys/fs/bpf" \
	"ExecReload=/bin/kill -HUP \$MAINPID" "RestrictNamespaces=net"; do
	grep -Fx "$want" "$unit" >/dev/null || { echo "FAIL: $unit lacks '$want'" >&2; exit 1; }
done
# The group may search the BPF filesystem's root, nobody else gains access.
grep -Fx "z /sys/fs/bpf 1710 root ovx -" "$root/scripts/systemd/ovx.tmpfiles" >/dev/null ||
	{ echo "FAIL: scripts/systemd/ovx.tmpfiles does not let group ovx search /sys/fs/bpf" >&2; exit 1; }
# The agent must accept the command line the unit gives it.
"$OVX" agent --help | grep -- '--upgrade' >/dev/null || { echo "FAIL: ovx agent has no --upgrade" >&2; exit 1; }
echo "PASS: ovx@.service verifies"
