#!/usr/bin/env bash
# Installs the Debian packages ovx needs, by set:
#
#   scripts/install-deps.sh [run|build|demo|test|netdevsim|all]...   (default: all)
#
#   run        what an installed ovx needs at run time (the shared libraries it
#              links, iproute2 for `ip netns`, which --netns names); the .deb
#              depends on the same
#   build      run + compilers, BPF tool chain, -dev packages, protoc and
#              etcd's API definitions; dpkg-dev and file for `cpack -G DEB`
#   demo       run + what scripts/run-demo.sh drives: ping, iperf3, tcpdump,
#              etcd-server for the cluster demo
#   test       build + demo + what only the test suite uses (GoogleTest,
#              prometheus, tshark, scapy, the sanitizer runtimes, mmdebstrap
#              for the package test, ...)
#   netdevsim  the netdevsim test (scripts/netdevsim/): a kernel built from
#              Debian's source package, booted under QEMU with a busybox
#              initramfs
#   all        every set (the test suite includes the netdevsim test)
#
# Idempotent and non-interactive: packages already present are left alone.
set -euo pipefail

# shellcheck disable=SC2034 # the set_* lists are read through a nameref
# The shared libraries are the ones dpkg-shlibdeps finds in the binary
# (Debian 12's names); the .deb computes its own, this list serves a build
# that runs on another machine.
set_run=(
	libbpf1 libxdp1 libelf1 libmnl0 libyaml-0-2 libyaml-cpp0.7 libspdlog1.10 libfmt9
	libcpp-httplib0.11 libgrpc++1.51 libprotobuf32
	iproute2
)
# The golang-*-dev packages carry etcd's API definitions (.proto) for the
# cluster client (cluster/CMakeLists.txt).
set_build=(
	build-essential cmake pkg-config dpkg-dev file
	clang llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
	libcli11-dev libyaml-cpp-dev libyaml-dev libmnl-dev nlohmann-json3-dev libspdlog-dev
	libcpp-httplib-dev
	libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
	golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
)
set_demo=(
	iproute2 iputils-ping iperf3 tcpdump ethtool procps python3 curl
	etcd-server
)
# etcd-client: etcdctl, for people debugging the cluster tests (never ovx).
# libclang-rt-dev: clang's sanitizer and libFuzzer runtimes (tests/fuzz).
# gnuplot-nox draws the benchmark's figures (bench/).
# zsh and man-db check the generated completion and man pages
# (tests/cli/docs_test.sh); python3-jsonschema validates --json output
# against docs/schema/ (tests/e2e/test_json_output.sh).
# chromium opens the Prometheus console pages headless (tests/dashboard/;
# with its libraries 122 MB to download, 393 MB installed, 41 s here).
set_test=(
	libgtest-dev googletest prometheus chromium
	tshark python3-scapy nftables systemd openssl etcd-client
	libclang-rt-dev gnuplot-nox zsh man-db
	mmdebstrap python3-jsonschema
)
set_netdevsim=(
	linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev cpio busybox-static qemu-system-x86
)

usage() {
	echo "usage: $0 [run|build|demo|test|netdevsim|all]... (default: all)" >&2
	exit 1
}

# Sets a set includes (besides its own list).
declare -A implies=([run]="" [build]="run" [demo]="run" [test]="build demo"
	[netdevsim]="" [all]="run build demo test netdevsim")

declare -A chosen=()
add_set() {
	[[ -v "implies[$1]" ]] || { echo "install-deps: unknown set '$1'" >&2; usage; }
	[[ -n ${chosen[$1]:-} ]] && return 0
	chosen[$1]=1
	local s
	for s in ${implies[$1]}; do add_set "$s"; done
}
(($# > 0)) || set -- all
for s in "$@"; do add_set "$s"; done

packages=()
for s in run build demo test netdevsim; do
	[[ -n ${chosen[$s]:-} ]] || continue
	declare -n list="set_$s"
	packages+=("${list[@]}")
	unset -n list
done
mapfile -t packages < <(printf '%s\n' "${packages[@]}" | sort -u)

missing=()
for p in "${packages[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] ||
		missing+=("$p")
done

sets=$(printf '%s ' "${!chosen[@]}" | tr ' ' '\n' | grep -vx all | sort | tr '\n' ' ')
if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} packages present (${sets% })"
	exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
	echo "install-deps: missing packages (${missing[*]}); run as root" >&2
	exit 2
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer for it.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}"
# The prometheus package is here for promtool and for the server binary that
# the metrics test runs itself, on a namespace's loopback. Its packaged
# service would listen on every address of this host: a fresh install of
# ours does not leave it running.
if [[ " ${missing[*]} " == *" prometheus "* ]] && [[ -d /run/systemd/system ]]; then
	systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
# Likewise etcd's packaged service: ovx's tests and demo run their own
# members on loopback ports, never a system service.
if [[ " ${missing[*]} " == *" etcd-server "* ]] && [[ -d /run/systemd/system ]]; then
	systemctl disable --now etcd.service >/dev/null 2>&1 || true
fi
