#!/usr/bin/env bash
# README command 2: install, build, and run the whole test suite (unit, bpf,
# e2e). Extra arguments go to ctest, e.g. `-L unit` or `-R learning`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [[ $(id -u) -ne 0 ]]; then
	echo "run-tests: the bpf and e2e tests load BPF programs and make namespaces: run as root" >&2
	exit 2
fi
bash "$root/scripts/build.sh"
cd "$root/build"
# The whole suite (no filter, as in CI): the two slow artifacts that only late
# tests need, the ABI v5 ovx of the migration test and the netdevsim kernel,
# are built in the background at the lowest priority while the earlier tests
# run. Both builders hold a lock, so a test that gets there first waits for
# the build rather than starting its own; a warm cache makes each a no-op.
if (($# == 0)); then
	setsid nice -n 19 bash -c '
		bash "$1/tests/e2e/old_ovx.sh" 5 "$1/build" >/dev/null
		bash "$1/scripts/netdevsim/kernel.sh" >/dev/null' prebuild "$root" \
		>"$root/build/prebuild.log" 2>&1 &
	prebuild=$!
	# Its own process group: ending it ends the compilers it started.
	trap 'kill -- -$prebuild 2>/dev/null || true' EXIT
	echo "run-tests: building the ABI v5 ovx and the netdevsim kernel in the background (build/prebuild.log)"
fi
ctest --output-on-failure --timeout 600 "$@"
