#!/usr/bin/env bash
# test_cluster_forward.sh with `underlay.mode: tc` (no XDP program): TC
# receives the stale frames whole and sends them on in the room of the
# outer headers they arrived in.
export TOPO_XDP_MODE=tc
exec bash "$(dirname "${BASH_SOURCE[0]}")/test_cluster_forward.sh" "$@"
