#!/usr/bin/env bash
# Makes (once) a minimal Debian root of this host's release, from this host's
# apt sources, with mmdebstrap (variant apt: the essential packages and apt,
# nothing of ovx's), and prints the path of its tarball on stdout. The tarball
# is cached outside the repository, keyed by this script, the release and the
# sources, so a cold cache is one bootstrap per machine (about a minute).
# Its apt lists are kept; the package test refreshes them before installing.
# Progress goes to stderr.
set -euo pipefail

cache_root=${OVX_PACKAGE_CACHE:-/var/cache/ovx/package}

command -v mmdebstrap >/dev/null ||
	{ echo "fresh root: mmdebstrap missing (run scripts/install-deps.sh test)" >&2; exit 2; }
# shellcheck source=/dev/null
suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[[ -n $suite ]] || { echo "fresh root: no VERSION_CODENAME in /etc/os-release" >&2; exit 2; }
sources=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
	[[ -f $f ]] && grep -qv '^[[:space:]]*\(#\|$\)' "$f" && sources+=("$f")
done
((${#sources[@]})) || { echo "fresh root: no apt sources on this host" >&2; exit 2; }

key=$( (cat "$0"; echo "$suite"; cat "${sources[@]}") | sha256sum | cut -c1-16)
tarball=$cache_root/$suite-$key.tar
if [[ -s $tarball ]]; then
	echo "$tarball"
	exit 0
fi

mkdir -p "$cache_root"
# One bootstrap at a time; a second caller waits and then finds the cache warm.
exec 9>"$cache_root/.lock"
flock 9
if [[ -s $tarball ]]; then
	echo "$tarball"
	exit 0
fi
echo "fresh root: cache is cold ($tarball): mmdebstrap $suite from ${sources[*]}" >&2
start=$SECONDS
# --skip=cleanup/apt/lists: keep the indexes, so that apt in the root works
# without an update first.
new=$cache_root/.new-$suite-$key.tar
mmdebstrap --quiet --variant=apt --format=tar --skip=cleanup/apt/lists "$suite" "$new" "${sources[@]}" >&2 ||
	{ rm -f "$new"; echo "fresh root: mmdebstrap failed" >&2; exit 2; }
mv "$new" "$tarball"
echo "fresh root: bootstrapped in $((SECONDS - start)) s" >&2
echo "$tarball"
