#!/usr/bin/env bash
# Builds (once) a small x86_64 kernel with netdevsim and BPF from Debian's
# linux-source-6.1 package and prints the path of its bzImage on stdout.
# The image is cached outside the repository, keyed by this script (which holds
# the whole configuration) and the source package version, so a cold cache is
# one build per machine and configuration change. Progress goes to stderr.
set -euo pipefail

cache_root=${OVX_NETDEVSIM_CACHE:-/var/cache/ovx/netdevsim}
tarball=/usr/src/linux-source-6.1.tar.xz

# tinyconfig plus only what the test needs: a serial console, an initramfs
# with busybox, debugfs and sysfs for netdevsim, and the BPF syscall with XDP.
# No BPF JIT (it needs module support): offloaded programs never run on the
# host, and the interpreter is enough for anything else.
# FILE_LOCKING: libxdp serialises attachments with flock() on bpffs.
# NET_NS: reading an offloaded program's info back names its device's
# network namespace, which without NET_NS has no operations (a NULL call).
# The TC and sysctl options serve `ovx apply`, whose host programs run next
# to the offloaded one (clsact, cls_bpf direct action, the forwarding sysctl).
options=(
	64BIT PRINTK TTY SERIAL_8250 SERIAL_8250_CONSOLE
	BLK_DEV_INITRD RD_GZIP BINFMT_ELF BINFMT_SCRIPT DEVTMPFS
	PROC_FS SYSFS DEBUG_FS TMPFS SHMEM MULTIUSER FUTEX EPOLL EVENTFD
	SIGNALFD TIMERFD POSIX_TIMERS FILE_LOCKING
	NAMESPACES NET_NS NET INET UNIX NETDEVICES NETDEVSIM NET_DEVLINK
	BPF_SYSCALL MODULES BPF_JIT BPF_JIT_ALWAYS_ON
	NET_SCHED NET_SCH_INGRESS NET_CLS NET_CLS_BPF NET_CLS_ACT
	SYSCTL PROC_SYSCTL
)

if [[ ! -r $tarball ]]; then
	echo "netdevsim kernel: $tarball missing (Debian package linux-source-6.1; run scripts/install-deps.sh)" >&2
	exit 2
fi
src_version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( (cat "$0"; echo "$src_version") | sha256sum | cut -c1-16)
dir=$cache_root/$key
if [[ -s $dir/bzImage ]]; then
	echo "$dir/bzImage"
	exit 0
fi

echo "netdevsim kernel: cache is cold ($dir): building linux-source-6.1 $src_version with a trimmed config; this takes several minutes on 2 cores" >&2
mkdir -p "$cache_root"
# One builder at a time; a second caller waits and then finds the cache warm.
exec 9>"$cache_root/.lock"
flock 9
if [[ -s $dir/bzImage ]]; then
	echo "$dir/bzImage"
	exit 0
fi

work=$(mktemp -d "$cache_root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$SECONDS
nice -n 10 tar -xJf "$tarball" -C "$work"
src=$work/linux-source-6.1
out=$work/out
jobs=${OVX_NETDEVSIM_JOBS:-2}
make -s -C "$src" O="$out" ARCH=x86_64 tinyconfig >"$work/config.log" 2>&1 ||
	{ cat "$work/config.log" >&2; exit 2; }
"$src/scripts/config" --file "$out/.config" $(printf -- '-e %s ' "${options[@]}")
make -s -C "$src" O="$out" ARCH=x86_64 olddefconfig >&2
for opt in "${options[@]}"; do
	if ! grep -x "CONFIG_$opt=y" "$out/.config" >/dev/null; then
		echo "netdevsim kernel: CONFIG_$opt did not stay enabled (a dependency is missing)" >&2
		exit 2
	fi
done
echo "netdevsim kernel: configured, compiling (-j$jobs, nice 10)" >&2
nice -n 10 make -s -C "$src" O="$out" ARCH=x86_64 -j"$jobs" bzImage >&2
mkdir -p "$dir"
cp "$out/.config" "$dir/config"
cp "$out/System.map" "$dir/System.map" # to read oops addresses: no kallsyms
cp "$out/arch/x86/boot/bzImage" "$dir/bzImage.tmp"
mv "$dir/bzImage.tmp" "$dir/bzImage"
echo "netdevsim kernel: built in $((SECONDS - start)) s" >&2
echo "$dir/bzImage"
