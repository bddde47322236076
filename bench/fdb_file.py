#!/usr/bin/python3
"""Desired-state files with N static FDB entries, and the check that an
instance holds exactly them.

  fdb_file.py write N FILE [--changed] [--bad-at K] [--capacity C]
  fdb_file.py check N < `ovx fdb show --json`

One segment 'big' (VXLAN 7000) on underlay eth1 (192.168.77.1), flooding to
8 VTEPs 192.168.77.2-9; remote i has MAC 02:10 followed by i in 4 bytes, at
VTEP 192.168.77.(2 + i % 8). --changed moves 4 entries to another VTEP,
drops 3 and adds 3 (10 differences). --bad-at K gives entry K (0-based) a
malformed MAC and prints the line it is on. The FDB holds N + 1024 entries,
or C with --capacity. Writing a file and checking the
instance use the same rule, so a wrong entry anywhere is found.
"""
import json
import sys

FLOOD = ["192.168.77.%d" % (2 + v) for v in range(8)]
MOVED = (0, 1000, 2000, 3000)


def mac(i):
    return "02:10:%02x:%02x:%02x:%02x" % (i >> 24 & 255, i >> 16 & 255, i >> 8 & 255, i & 255)


def entries(n, changed):
    """(index, VTEP) of every remote, in file order."""
    for i in range(n - 3 if changed else n):
        v = i % 8
        if changed and i in MOVED:
            v = (v + 1) % 8
        yield i, FLOOD[v]
    if changed:
        for i in range(n + 10, n + 13):
            yield i, FLOOD[0]


def write(n, path, changed, bad_at, capacity):
    bad_line = None
    with open(path, "w") as f:
        head = ("underlay:\n  interface: eth1\n  address: 192.168.77.1\n  mode: generic\n"
                "limits:\n  fdb_entries: %d\n"
                "segments:\n  - name: big\n    tenant: t\n    id: 7000\n"
                "    flood: [%s]\n    remotes:\n" % (capacity or n + 1024, ", ".join(FLOOD)))
        f.write(head)
        line = head.count("\n") + 1
        for k, (i, vtep) in enumerate(entries(n, changed)):
            m = mac(i)
            if k == bad_at:
                m, bad_line = "02:10:zz:00:00:00", line
            f.write("      - {mac: '%s', vtep: %s}\n" % (m, vtep))
            line += 1
    if bad_at is not None:
        if bad_line is None:
            sys.exit("fdb_file: --bad-at %d is past the last entry" % bad_at)
        print(bad_line)


def check(n, changed):
    got = json.load(sys.stdin)["fdb"]
    want = {mac(i): vtep for i, vtep in entries(n, changed)}
    seen = set()
    for e in got:
        m = e["mac"]
        if m in seen:
            sys.exit("fdb_file: %s listed twice" % m)
        seen.add(m)
        if (e["segment"], e["kind"], e["learned"]) != ("big", "vtep", False):
            sys.exit("fdb_file: unexpected entry %s" % e)
        if want.get(m) != e["vtep"]:
            sys.exit("fdb_file: %s at %s, want %s" % (m, e["vtep"], want.get(m)))
    if len(seen) != len(want):
        sys.exit("fdb_file: %d entries in the FDB, want %d" % (len(seen), len(want)))
    print("%d entries, each at its VTEP" % len(seen))


def main():
    args = sys.argv[1:]
    changed = "--changed" in args
    def option(name):
        return int(args[args.index(name) + 1]) if name in args else None
    bad_at, capacity = option("--bad-at"), option("--capacity")
    if len(args) >= 3 and args[0] == "write":
        write(int(args[1]), args[2], changed, bad_at, capacity)
    elif len(args) >= 2 and args[0] == "check":
        check(int(args[1]), changed)
    else:
        sys.exit(__doc__)


main()
