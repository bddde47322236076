#!/usr/bin/env bash
# `ovx offload check`: exit 0 clean, 1 rules broken (listed), 2 unreadable;
# --json carries the same verdict.
set -euo pipefail
: "${OVX:?set OVX to the ovx binary}" "${RULE_OBJECTS:?set RULE_OBJECTS}" "${CAPS:?set CAPS to a caps file}"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp)
caps=$(mktemp)
trap 'rm -f "$out" "$caps"' EXIT

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
# --caps: another card's table. The test table has every helper, the
# built-in one (Netronome's firmware) has map lookups only.
"$OVX" offload check --caps "$CAPS" "$RULE_OBJECTS/clean.bpf.o" >"$out" ||
	fail "clean does not pass with --caps: $(cat "$out")"
rc=0
"$OVX" offload check "$RULE_OBJECTS/clean.bpf.o" >"$out" || rc=$?
[[ $rc == 1 ]] || fail "clean with the built-in table exits $rc, not 1"
grep "helper: bpf_map_update_elem: the firmware" "$out" >/dev/null ||
	fail "the built-in table's missing helper is not named: $(cat "$out")"

# Policies are marked, and left out on request.
rc=0
"$OVX" offload check "$RULE_OBJECTS/verdict.bpf.o" >"$out" || rc=$?
[[ $rc == 1 ]] || fail "a policy finding exits $rc, not 1"
grep "verdict:[0-9]*: verdict (policy): " "$out" >/dev/null || fail "the policy is not marked: $(cat "$out")"
"$OVX" offload check --no-policies "$RULE_OBJECTS/verdict.bpf.o" >"$out" ||
	fail "--no-policies still reports the policy: $(cat "$out")"

# A bad caps file: exit 1, FILE:LINE, nothing checked.
sed 's/^stack_bytes .*/stack_bytes lots/' "$CAPS" >"$caps"
rc=0
"$OVX" offload check --caps "$caps" 2>"$out" >/dev/null || rc=$?
[[ $rc == 1 ]] || fail "a bad caps file exits $rc, not 1"
line=$(grep -n '^stack_bytes' "$caps" | cut -d: -f1)
grep "$caps:$line:1: stack_bytes: \"lots\" is not a number" "$out" >/dev/null ||
	fail "the error does not name file and line: $(cat "$out")"
echo "offload check CLI: ok"
