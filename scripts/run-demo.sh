#!/usr/bin/env bash
# README command 1: install, build, and run the demo (three hosts, two tenants
# with overlapping MACs and IPs, traffic over the overlay, counters shown),
# then the cluster demo (the same hosts under etcd, a VM that moves between
# them under a ping that loses nothing).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Only what the demos use: no test tools, no kernel source, no QEMU.
bash "$root/scripts/build.sh" demo
OVX="$root/build/ovx" bash "$root/scripts/demo.sh" "$@"
OVX="$root/build/ovx" exec bash "$root/scripts/demo-cluster.sh"
