#!/usr/bin/env bash
# `ovx offload check`: exit 0 clean, 1 rules broken (listed), 2 unreadable;
# --json carries the same verdict.
set -euo pipefail
: "${OVX:?set OVX to the ovx binary}" "${RULE_OBJECTS:?set RULE_OBJECTS}"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$OVX" offload check >"$out" || fail "the shipped offload program does not pass: $(cat "$out")"
grep "keeps every NFP offload rule" "$out" >/dev/null || fail "no verdict line: $(cat "$out")"

rc=0
"$OVX" offload check "$RULE_OBJECTS/tail_call.bpf.o" >"$out" || rc=$?
[[ $rc == 1 ]] || fail "a rule-breaking object exits $rc, not 1"
grep "tail_call:[0-9]*: tail-call: bpf_tail_call" "$out" >/dev/null ||
	fail "the violation is not listed with program and instruction: $(cat "$out")"

rc=0
"$OVX" offload check --json "$RULE_OBJECTS/helper.bpf.o" >"$out" || rc=$?
[[ $rc == 1 ]] || fail "--json on a rule-breaking object exits $rc, not 1"
python3 - "$out" <<'PY' || fail "bad JSON: $(cat "$out")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["clean"] is False
assert [f["rule"] for f in r["findings"]] == ["helper"], r["findings"]
assert isinstance(r["findings"][0]["insn"], int)
PY

rc=0
"$OVX" offload check /nonexistent.bpf.o 2>"$out" || rc=$?
[[ $rc == 2 ]] || fail "an unreadable object exits $rc, not 2"
grep "/nonexistent.bpf.o" "$out" >/dev/null || fail "the error does not name the file: $(cat "$out")"
echo "offload check CLI: ok"
