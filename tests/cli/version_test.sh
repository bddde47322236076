#!/usr/bin/env bash
# `ovx version [--json]` reports project(VERSION), the git describe of the
# tree it was built from and the map ABI, as an unprivileged user with no
# instance; --version says the same; a tree without .git (a tarball) builds
# with git "unknown".
#   OVX: the binary (default build/ovx)
set -euo pipefail
source "$(dirname "$0")/check_lib.sh"

version=$(sed -nE 's/^project\(ovx VERSION ([0-9.]+) .*/\1/p' "$root/CMakeLists.txt")
abi=$(sed -nE 's/^#define OVX_ABI_VERSION[[:space:]]+([0-9]+).*/\1/p' "$root/maps/ovx_abi.h")
# The commit; whether the tree was dirty then is the build's business.
commit=$(git -C "$root" describe --always --dirty)
commit=${commit%-dirty}
[[ -n $version && -n $abi && -n $commit ]] || { echo "FAIL: version '$version' abi '$abi' git '$commit'" >&2; exit 1; }

as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; }

if json=$(as_nobody "$OVX" version --json); then
	got=$("$py" -c 'import json, sys
j = json.load(sys.stdin)
print(j["version"], j["git"].removesuffix("-dirty"), j["abi"], sorted(j) == ["abi", "git", "version"])' <<<"$json")
	[[ $got == "$version $commit $abi True" ]] ||
		fail "ovx version --json: '$json', want version $version, git $commit, abi $abi" \
			"(a binary built before the last commit: build again)"
else
	fail "ovx version --json as nobody exits $?"
fi
line=$(as_nobody "$OVX" version) || fail "ovx version as nobody exits $?"
[[ $line =~ ^ovx\ $version\ \(git\ $commit(-dirty)?\),\ map\ ABI\ v$abi$ ]] ||
	fail "ovx version: '$line'"
[[ $(as_nobody "$OVX" --version) == "$line" ]] || fail "ovx --version differs from ovx version"

# A tarball: the same files, no .git.
tree=$(mktemp -d)
trap 'rm -rf "$tree"' EXIT
mkdir -p "$tree/src/cli" "$tree/src/docs/man"
cp "$root/cli/version.h.in" "$tree/src/cli/"
cp "$root/docs/man/ovx-config.5.in" "$tree/src/docs/man/"
cmake -DSRC="$tree/src" -DBIN="$tree/build" -DVERSION=9.8.7 -P "$root/cmake/BuildInfo.cmake"
grep -qx '#define OVX_BUILD_GIT "unknown"' "$tree/build/gen/ovx_version.h" ||
	fail "a tree without .git: $(grep GIT "$tree/build/gen/ovx_version.h")"
grep -q '"ovx 9.8.7"' "$tree/build/man/ovx-config.5" || fail "ovx-config.5 lacks the version"

checks_done "ovx version: $line"
