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
ctest --output-on-failure --timeout 600 "$@"
