# Sourced by the shell checks outside e2e (tests/cli, tests/privilege):
# the binary under test, and failures counted, so that one run reports
# every problem rather than the first.
#   OVX: the binary (default build/ovx)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OVX=${OVX:-$root/build/ovx}
py=/usr/bin/python3
[[ -x $OVX ]] || { echo "FAIL: no ovx binary at $OVX" >&2; exit 1; }

failures=0
fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

# checks_done MESSAGE: exit 1 when anything failed, else say PASS: MESSAGE.
checks_done() {
	if ((failures)); then
		echo "FAIL: $failures problem(s)" >&2
		exit 1
	fi
	echo "PASS: $*"
}
