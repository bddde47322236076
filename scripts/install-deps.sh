#!/usr/bin/env bash
# Installs every Debian package ovx needs to build, test, run the demo and benchmark.
# etcd-server and etcd-client serve the cluster tests, which start etcd
# processes of their own (etcdctl is for people debugging, never for ovx);
# the golang-*-dev packages carry etcd's API definitions (.proto) for the
# build. zsh and man-db check the generated completion and man pages
# (tests/cli/docs_test.sh). libclang-rt-dev holds clang's sanitizer and libFuzzer runtimes
# (tests/fuzz). The last line serves the netdevsim test (scripts/netdevsim/): a kernel built
# from Debian's source package, booted under QEMU with a busybox initramfs.
# Idempotent and non-interactive: packages already present are left alone.
set -euo pipefail

packages=(
	build-essential cmake pkg-config
	clang libclang-rt-dev llvm libbpf-dev libxdp-dev bpftool libelf-dev zlib1g-dev
	libcli11-dev libyaml-cpp-dev libyaml-dev libmnl-dev nlohmann-json3-dev libspdlog-dev libgtest-dev googletest
	libcpp-httplib-dev prometheus
	iproute2 iputils-ping iperf3 tshark tcpdump python3-scapy ethtool procps
	gnuplot-nox nftables systemd zsh man-db
	etcd-server etcd-client libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
	golang-etcd-server-dev golang-github-gogo-protobuf-dev golang-github-grpc-ecosystem-grpc-gateway-dev
	openssl
	linux-source-6.1 flex bison bc libssl-dev cpio busybox-static qemu-system-x86
)

missing=()
for p in "${packages[@]}"; do
	[[ $(dpkg-query -W -f='${Status}' "$p" 2>/dev/null) == "install ok installed" ]] ||
		missing+=("$p")
done

if ((${#missing[@]} == 0)); then
	echo "install-deps: all ${#packages[@]} packages present"
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
apt-get install -y -qq --no-install-recommends "${missing[@]}"
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
