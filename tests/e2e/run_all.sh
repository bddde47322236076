#!/usr/bin/env bash
# Runs every ovx end-to-end test (or those whose name contains one of the
# arguments), one after the other, and prints a summary.
#   sudo tests/e2e/run_all.sh                 # all
#   sudo OVX=build/ovx tests/e2e/run_all.sh basic learning
# Exit status: 0 if all passed, 1 otherwise.
set -uo pipefail
DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

tests=()
for t in "$DIR"/test_*.sh; do
	name=$(basename "$t" .sh)
	if (($#)); then
		match=0
		for pat in "$@"; do [[ $name == *"$pat"* ]] && match=1; done
		((match)) || continue
	fi
	tests+=("$t")
done
((${#tests[@]})) || { echo "no test matches: $*" >&2; exit 1; }

results=()
failed=0
interrupted=0
trap 'interrupted=1' INT
for t in "${tests[@]}"; do
	name=$(basename "$t" .sh)
	start=$SECONDS
	bash "$t"
	rc=$?
	if ((rc == 0)); then
		results+=("PASS  $name ($((SECONDS - start))s)")
	else
		results+=("FAIL  $name (exit $rc, $((SECONDS - start))s)")
		failed=$((failed + 1))
	fi
	echo
	((interrupted)) && break
done

echo "==== e2e summary ===="
printf '  %s\n' "${results[@]}"
((interrupted)) && echo "  (interrupted)"
((failed == 0 && !interrupted))
