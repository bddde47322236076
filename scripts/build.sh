#!/usr/bin/env bash
# Installs what is missing and builds ovx into build/ (idempotent).
#   scripts/build.sh [SET...]
# SETs are scripts/install-deps.sh's dependency sets (default: all). The test
# suite and the benchmarks are configured and built only with the test set
# (or all); without it, the tree holds ovx alone and needs no test tools.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
(($# > 0)) || set -- all
testing=OFF
for s in "$@"; do
	[[ $s == test || $s == all ]] && testing=ON
done
bash "$root/scripts/install-deps.sh" build "$@"
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=$testing >/dev/null
cmake --build "$root/build" -j"$(nproc)"
