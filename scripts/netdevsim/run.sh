#!/usr/bin/env bash
# The hardware offload path without the card: boots a small kernel with
# netdevsim under QEMU (TCG; nested KVM hangs on these hosts), runs ovx in it
# against a netdevsim device (guest-init.sh) and checks what it reports.
# Usage: run.sh OVX_BINARY. The first run builds the kernel (kernel.sh) and
# says so on stderr; later runs find it cached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ovx=${1:?usage: run.sh OVX_BINARY}

for tool in qemu-system-x86_64 cpio gzip /bin/busybox bpftool; do
	command -v "$tool" >/dev/null ||
		{ echo "netdevsim: $tool missing (run scripts/install-deps.sh)" >&2; exit 2; }
done

kernel=$(bash "$here/kernel.sh")

work=$(mktemp -d /tmp/ovx-netdevsim.XXXXXX)
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc}
cp /bin/busybox "$root/bin/busybox"
cp "$here/guest-init.sh" "$root/init"
chmod +x "$root/init"
mknod -m 600 "$root/dev/console" c 5 1
mknod -m 666 "$root/dev/null" c 1 3

# ovx, bpftool and iproute2's ip (busybox's knows no XDP) with their shared
# libraries at the paths ldd names; /usr/local/bin comes first in the guest.
install_binary() {
	mkdir -p "$root/usr/local/bin"
	cp "$1" "$root/usr/local/bin/"
	ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}
install_binary "$ovx"
install_binary "$(command -v bpftool)"
install_binary "$(command -v ip)"
# libxdp loads its dispatcher from here at attach time (the host's path).
xdp_objects=/usr/lib/$(gcc -dumpmachine)/bpf
mkdir -p "$root$xdp_objects"
cp "$xdp_objects/xdp-dispatcher.o" "$root$xdp_objects/"

(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initramfs.gz"

log=$work/console.log
echo "netdevsim: booting $kernel under qemu (TCG)" >&2
rc=0
timeout 180 qemu-system-x86_64 -accel tcg -m 512 -nographic -no-reboot \
	-kernel "$kernel" -initrd "$work/initramfs.gz" \
	-append "console=ttyS0 panic=-1 quiet" </dev/null >"$log" 2>&1 || rc=$?
tr -d '\r' <"$log" >"$log.txt"
cat "$log.txt"
if [[ $rc -ne 0 ]]; then
	echo "netdevsim: qemu exited with $rc (124: the guest did not finish in 180 s)" >&2
	exit 1
fi
grep '^OVX-RESULT 0$' "$log.txt" >/dev/null || {
	echo "netdevsim: failed steps:" >&2
	grep '^OVX-STEP .* FAIL$' "$log.txt" >&2 || echo "  (the guest did not finish)" >&2
	exit 1
}
echo "netdevsim: the offload program loaded, attached in hardware mode and read back as offloaded" >&2
