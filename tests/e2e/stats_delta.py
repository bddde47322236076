#!/usr/bin/python3
"""Compares two `ovx stats --json` readings against exact expected deltas.

  stats_delta.py BEFORE.json AFTER.json [--ports] EXPECT...

EXPECT is SCOPE:NAME:FIELD=N (SCOPE segment or port; FIELD may be
drops.REASON) or unassigned:REASON=N. Every other counter of every segment
and of the unassigned drops (and of every port with --ports) must not have
moved. Prints each expected delta; exit 1 with every mismatch listed.
"""
import json
import sys


def flatten(doc, ports):
    out = {}
    for s in doc.get("segments", []):
        for k, v in s.items():
            if k == "drops":
                for r, n in v.items():
                    out["segment:%s:drops.%s" % (s["name"], r)] = n
            elif k not in ("name", "tenant", "encap", "id"):
                out["segment:%s:%s" % (s["name"], k)] = v
    for r, n in doc.get("unassigned_drops", {}).items():
        out["unassigned:%s" % r] = n
    if ports:
        for p in doc.get("ports", []):
            for k, v in p.items():
                if k not in ("interface", "segment", "tenant"):
                    out["port:%s:%s" % (p["interface"], k)] = v
    return out


def main():
    args = sys.argv[1:]
    ports = "--ports" in args
    args = [a for a in args if a != "--ports"]
    with open(args[0]) as f:
        before = flatten(json.load(f), ports)
    with open(args[1]) as f:
        after = flatten(json.load(f), ports)
    want = {}
    for e in args[2:]:
        key, _, n = e.rpartition("=")
        want[key] = int(n)
    bad = []
    for key in sorted(set(before) | set(after) | set(want)):
        if key not in after:
            bad.append("%s: missing from the second reading" % key)
            continue
        delta = after[key] - before.get(key, 0)
        expect = want.get(key, 0)
        if delta != expect:
            bad.append("%s: moved by %d, want %d" % (key, delta, expect))
        elif key in want:
            print("    ok: %s +%d" % (key, delta))
    for b in bad:
        print("    MISMATCH: " + b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
