# shellcheck shell=bash
# scale_env NAME (sourced by the control-plane benchmarks): a namespace
# $ns = NAME-<pid> with underlay eth1 (192.168.77.1/24, a veth) that matches
# bench/fdb_file.py's files, and a work directory $dir; both, and the ovx
# instance ($OVX) in the namespace, are removed on exit whatever happens.
scale_env() {
	ns=$1-$$
	dir=$(mktemp -d "/tmp/$1.XXXXXX")
	trap scale_env_cleanup EXIT
	ip netns add "$ns"
	ip -n "$ns" link add eth1 type veth peer name eth1p
	ip -n "$ns" addr add 192.168.77.1/24 dev eth1
	ip -n "$ns" link set eth1 up
	ip -n "$ns" link set eth1p up
}

scale_env_cleanup() {
	"$OVX" --netns "$ns" down >/dev/null 2>&1 || true
	ip netns del "$ns" 2>/dev/null || true
	rm -rf "$dir"
}
