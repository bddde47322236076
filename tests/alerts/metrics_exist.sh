#!/bin/bash
# Every metric the alerting rules name is one the exporter writes: an
# alert on a renamed or never-served metric would stay silent for ever,
# and promtool cannot tell (its tests feed the series they name).
# Usage: metrics_exist.sh RULES_FILE EXPORTER_SOURCE (agent/metrics.cpp)
set -euo pipefail
rules=$1 exporter=$2

# Outside comments and double-quoted strings (label values such as
# map="ovx_fdb", the summaries), an ovx_ word is a metric name.
mapfile -t names < <(grep -v '^[[:space:]]*#' "$rules" | sed 's/"[^"]*"//g' |
	grep -o '\bovx_[a-z0-9_]*' | sort -u)
if ((${#names[@]} == 0)); then
	echo "FAIL: no ovx_ metric found in $rules" >&2
	exit 1
fi
missing=0
for name in "${names[@]}"; do
	# The exporter writes each family (and a histogram's _bucket series)
	# as a string literal.
	if ! grep -qF "\"$name\"" "$exporter"; then
		echo "FAIL: $rules uses $name, which $exporter does not write" >&2
		missing=1
	fi
done
((missing == 0)) || exit 1
echo "ok: ${#names[@]} metrics, all written by $exporter"
