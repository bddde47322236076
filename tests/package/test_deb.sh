#!/usr/bin/env bash
# The Debian package as an operator gets it: `cpack -G DEB` in the build
# tree, then `apt-get install ./ovx_*.deb` in a fresh Debian root
# (fresh_root.sh: mmdebstrap, cached), where its Depends alone must bring
# everything ovx needs. From that root, on this host's kernel: `ovx version`,
# then a demo: three hosts in namespaces, h1 applying the packaged example
# config (/usr/share/doc/ovx/examples/host1.yaml), ping across the overlay,
# `ovx down`.
#   OVX_BUILD            the build tree (default build/)
#   OVX_PACKAGE_VERSION  the version the package must carry (CMake's project version)
# Every ovx of this test is the packaged one: $OVX is a wrapper that runs
# /usr/sbin/ovx chrooted into the root, in a mount namespace of its own
# where /proc, /sys (bpffs included), /dev, /run/netns and /tmp are this
# host's; nothing stays mounted once it exits.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
build=${OVX_BUILD:-$repo/build}
version=${OVX_PACKAGE_VERSION:?OVX_PACKAGE_VERSION: the version the package must carry}

work=$(mktemp -d /var/tmp/ovx-package.XXXXXX) || exit 1
trap 'rm -rf --one-file-system "$work"' EXIT # until e2e_init's trap and the hook below
root=$work/root
mkdir "$root"
cat >"$work/ovx" <<EOF
#!/usr/bin/env bash
exec unshare --mount --propagation private -- bash -c '
	set -e
	for d in proc sys dev run/netns tmp; do
		if [ -d "/\$d" ]; then mount --rbind "/\$d" "$root/\$d"; fi
	done
	exec chroot "$root" /usr/sbin/ovx "\$@"' ovx "\$@"
EOF
chmod +x "$work/ovx"
export OVX=$work/ovx

# shellcheck source=tests/e2e/lib.sh
source "$repo/tests/e2e/lib.sh"

# Runs after ovx_cleanup_hook (ovx down of every host, through the root).
package_cleanup() {
	local rc=0
	if findmnt -rn -o TARGET | grep -q "^$work/"; then
		echo "    FAIL: mounts left under $work: $(findmnt -rn -o TARGET | grep "^$work/" | tr '\n' ' ')" >&2
		findmnt -rn -o TARGET | grep "^$work/" | sort -r | xargs -r -n1 umount -l
		rc=1
	fi
	rm -rf --one-file-system "$work"
	return $rc
}

e2e_init test_package "ovx.deb installed with apt into a fresh Debian root, run from there"
topo_add_cleanup_hook package_cleanup
for t in cpack dpkg-deb unshare chroot findmnt; do
	command -v "$t" >/dev/null || e2e_fail "$t missing (scripts/install-deps.sh test)"
done
[[ -f $build/CPackConfig.cmake ]] || e2e_fail "no CPackConfig.cmake in $build (configure the tree first)"

e2e_step "cpack -G DEB ($build)"
start=$SECONDS
(cd "$work" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$work/cpack") >"$work/cpack.log" 2>&1 ||
	{ cat "$work/cpack.log" >&2; e2e_fail "cpack -G DEB failed"; }
arch=$(dpkg --print-architecture)
deb=$work/cpack/ovx_${version}_${arch}.deb
[[ -f $deb ]] || e2e_fail "cpack made no $(basename "$deb"): $(ls "$work/cpack")"
e2e_ok "$(basename "$deb"), $(($(stat -c %s "$deb") / 1024)) KiB, in $((SECONDS - start)) s"

e2e_step "the package's control data and contents"
dpkg-deb -I "$deb" | sed -n '/Package:/,$p' | sed 's/^/    | /'
for field in Package:ovx "Version:$version" "Architecture:$arch"; do
	got=$(dpkg-deb -f "$deb" "${field%%:*}")
	[[ $got == "${field#*:}" ]] || e2e_fail "${field%%:*} is '$got', want '${field#*:}'"
done
depends=$(dpkg-deb -f "$deb" Depends)
# iproute2 by hand; the libraries from dpkg-shlibdeps (one per library the
# binary links that only the package system can name).
for want in iproute2 adduser libbpf1 libxdp1 libyaml-cpp0.7 'libgrpc++1.51' libc6; do
	[[ ", $depends," == *", $want "* || ", $depends," == *", $want,"* ]] ||
		e2e_fail "Depends lacks $want: $depends"
done
e2e_ok "Depends: $depends"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
want_files=(./usr/sbin/ovx ./lib/systemd/system/ovx@.service ./etc/ovx/
	./usr/share/doc/ovx/README.md ./usr/share/doc/ovx/OPERATIONS.md
	./usr/share/doc/ovx/examples/host1.yaml ./usr/lib/tmpfiles.d/ovx.conf)
# The generated ones, once the tree generates them (cli/).
[[ -f $build/man/ovx.8 ]] && want_files+=(./usr/share/man/man8/ovx.8)
[[ -f $build/man/ovx-config.5 ]] && want_files+=(./usr/share/man/man5/ovx-config.5)
[[ -f $build/completion/ovx.bash ]] && want_files+=(./usr/share/bash-completion/completions/ovx)
[[ -f $build/completion/_ovx ]] && want_files+=(./usr/share/zsh/vendor-completions/_ovx)
# A build tree configured before the package rules defaulted the prefix
# to /usr keeps /usr/local in its cache.
grep -qxF ./usr/local/sbin/ovx <<<"$contents" &&
	e2e_fail "the package installs under /usr/local: $build was configured with CMAKE_INSTALL_PREFIX=/usr/local; reconfigure it with -DCMAKE_INSTALL_PREFIX=/usr (a fresh build tree does)"
for f in "${want_files[@]}"; do
	grep -qxF -- "$f" <<<"$contents" || e2e_fail "the package lacks $f"
done
e2e_ok "holds ${want_files[*]}"

e2e_step "a fresh Debian root (tests/package/fresh_root.sh)"
start=$SECONDS
tarball=$(bash "$here/fresh_root.sh") || e2e_fail "no fresh root"
tar -xf "$tarball" -C "$root" || e2e_fail "cannot unpack $tarball"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mkdir -p "$root/run/netns"
[[ ! -e $root/usr/sbin/ovx ]] || e2e_fail "the fresh root has an ovx already"
e2e_ok "$root from $(basename "$tarball") in $((SECONDS - start)) s"

e2e_step "apt-get install ./$(basename "$deb") in the root"
start=$SECONDS
cp "$deb" "$root/var/tmp/"
if ! chroot "$root" env DEBIAN_FRONTEND=noninteractive sh -c \
	"apt-get update -qq && cd /var/tmp && apt-get install -y -q ./$(basename "$deb")" >"$work/apt.log" 2>&1; then
	cat "$work/apt.log" >&2
	e2e_fail "apt-get install ./$(basename "$deb") failed in the fresh root"
fi
e2e_info "$(grep -c '^Setting up' "$work/apt.log") packages set up"
# shellcheck disable=SC2016 # dpkg-query's format, not the shell's
status=$(chroot "$root" dpkg-query -W -f '${Status} ${Version}' ovx)
[[ $status == "install ok installed $version" ]] || e2e_fail "dpkg says ovx is '$status'"
e2e_ok "installed in $((SECONDS - start)) s (apt lists refreshed, dependencies from the archive)"
unit=$root/lib/systemd/system/ovx@.service
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[[ $exec_start == /usr/sbin/ovx ]] || e2e_fail "the installed unit runs '$exec_start', want /usr/sbin/ovx"
e2e_ok "ovx@.service runs $exec_start"
# postinst: the agent's system user and the readers' group (docs/OPERATIONS.md, Privileges).
user=$(chroot "$root" getent passwd ovx) && chroot "$root" getent group ovx >/dev/null ||
	e2e_fail "postinst made no user and group ovx"
[[ $(cut -d: -f3 <<<"$user") -lt 1000 ]] || e2e_fail "ovx is not a system user: $user"
e2e_ok "user and group ovx: $user"

e2e_step "ovx version, from the root"
# `ovx version` where the tree has the verb; the --version flag before it.
if "$OVX" --help 2>&1 | grep -qE '^[[:space:]]+version([[:space:]]|$)'; then
	cmd=(version)
else
	cmd=(--version)
fi
out=$("$OVX" "${cmd[@]}" 2>&1) || e2e_fail "ovx ${cmd[*]}: exit $?: $out"
[[ $out == *"$version"* ]] || e2e_fail "ovx ${cmd[*]} says '$out', want $version"
e2e_ok "ovx ${cmd[*]}: $(head -n1 <<<"$out")"

e2e_build_topology "ovx ovx ovx" "blue:5001"
e2e_step "ovx apply from the root: h1 the packaged example, h2 and h3 their own files"
ovx_apply h1 /usr/share/doc/ovx/examples/host1.yaml ||
	e2e_fail "ovx apply -f /usr/share/doc/ovx/examples/host1.yaml on h1: exit $OVX_RC: $OVX_OUT"
e2e_ok "h1: applied /usr/share/doc/ovx/examples/host1.yaml"
for h in h2 h3; do
	ovx_apply "$h" || e2e_fail "ovx apply on $h: exit $OVX_RC: $OVX_OUT"
	e2e_ok "$h: applied $(topo_config_file "$h")"
done

e2e_step "blue: b1 (h1) -> b2 (h2), b3 (h3); b2 -> b3"
e2e_expect_ping b1 "$(topo_vm_ip b2)"
e2e_expect_ping b1 "$(topo_vm_ip b3)"
e2e_expect_ping b2 "$(topo_vm_ip b3)"
ovx_run h1 stats --json >/dev/null || e2e_fail "ovx stats on h1: exit $OVX_RC: $OVX_OUT"
e2e_ok "ovx stats on h1"

e2e_step "ovx down on h1, from the root"
ovx_down h1 || e2e_fail "ovx down on h1: exit $OVX_RC: $OVX_OUT"
[[ ! -e $(ovx_pin_dir h1) ]] || e2e_fail "ovx down left $(ovx_pin_dir h1)"
! ovx_xdp_attached h1 eth1 || e2e_fail "ovx down left XDP on h1's eth1"
e2e_ok "no pins, no XDP on h1"
e2e_expect_no_ping b2 "$(topo_vm_ip b1)"

e2e_pass
