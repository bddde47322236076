#!/usr/bin/python3
"""Checks tshark's dissection of ovx's overlay frames (encap_lib.sh).

  tshark -T fields -E occurrence=a -E aggregator=, -e ID -e eth.src -e eth.dst
         -e icmp.type -e ip.proto -e ipv6.nxt -e EXTRA... |
  wire_check.py ENCAP FAMILY ID MAC_A MAC_B

ID is the segment id field (vxlan.vni, geneve.vni, gre.key, stt.context_id);
EXTRA the per-encapsulation fields encap_wire_check asks for. Every frame
must carry ID in the place its RFC/draft fixes, and the inner frames must
include ICMP echo requests and replies between MAC_A and MAC_B both ways.
Prints a summary; exit 1 with the mismatches on stderr.
"""
import sys
encap, family, want_id, mac_a, mac_b = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
errors, icmp, flows = [], set(), {}
def num(v):
    return int(v, 0)
for n, line in enumerate(sys.stdin, 1):
    f = line.rstrip("\n").split("\t")
    idv, esrc, edst, itype, ipproto, nxt = f[:6]
    x = f[6:]
    esrc, edst = esrc.split(","), edst.split(",")
    if len(esrc) < 2:
        errors.append("frame %d: no inner Ethernet header dissected" % n)
        continue
    inner = (esrc[-1].lower(), edst[-1].lower())
    if encap == "nvgre":
        key = num(idv)
        got, flow = key >> 8, key & 0xff
        flags, proto = x
        if num(flags) != 0x2000:
            errors.append("frame %d: GRE flags/version %s, want 0x2000 (key bit only)" % (n, flags))
        if num(proto) != 0x6558:
            errors.append("frame %d: GRE protocol %s, want 0x6558" % (n, proto))
        flows.setdefault((inner, itype), set()).add(flow)
    else:
        got = num(idv.split(",")[0])
    if got != want_id:
        errors.append("frame %d: %s id %d, want %d" % (n, encap, got, want_id))
    want_proto = {"nvgre": 47, "stt": 6}.get(encap, 17)
    outer_proto = num(nxt.split(",")[0]) if family == "6" else num(ipproto.split(",")[0])
    if outer_proto != want_proto:
        errors.append("frame %d: outer IPv%s protocol %d, want %d" % (n, family, outer_proto, want_proto))
    if encap in ("vxlan", "geneve"):
        port, csum = num(x[0]), x[1]
        want_port = 4789 if encap == "vxlan" else 6081
        if port != want_port:
            errors.append("frame %d: UDP port %d, want %d" % (n, port, want_port))
        if family == "6" and num(csum) != 0:
            errors.append("frame %d: UDP checksum %s over IPv6, ovx sends 0 (RFC 6935)" % (n, csum))
    if encap == "geneve":
        ptype, opts, ver = x[2:5]
        if num(ptype) != 0x6558:
            errors.append("frame %d: Geneve protocol type %s, want 0x6558" % (n, ptype))
        if opts:
            errors.append("frame %d: Geneve options sent (%s), want none" % (n, opts))
        if num(ver) != 0:
            errors.append("frame %d: Geneve version %s" % (n, ver))
    if encap == "stt":
        port, ver, plen, off, csum, expert = x
        # tshark 4.0's STT dissector reports the Internet checksum over the
        # pseudo-header and the segment, checksum field included, as what
        # the field "should be": 0x0000 there is a correct checksum (a
        # flipped bit reads "should be 0x0001"), though it says "Bad".
        # A tshark that compares properly says status 1 (good).
        if num(csum) != 1 and "Bad checksum [should be 0x0000]" not in expert:
            errors.append("frame %d: STT TCP-like checksum wrong (status %s, %s)" % (n, csum, expert))
        if num(port) != 7471:
            errors.append("frame %d: STT TCP port %s, want 7471" % (n, port))
        if num(ver) != 0:
            errors.append("frame %d: STT version %s" % (n, ver))
        if num(off) != 0 or num(plen) < 18 + 14:
            errors.append("frame %d: STT pkt_len %s seg_off %s for a frame of one segment" % (n, plen, off))
    if itype in ("0", "8"):
        icmp.add((inner, itype))
for want in (((mac_b, mac_a), "8"), ((mac_a, mac_b), "0"), ((mac_a, mac_b), "8"), ((mac_b, mac_a), "0")):
    if want not in icmp:
        errors.append("no inner ICMP %s %s -> %s" % ("echo request" if want[1] == "8" else "echo reply",
                                                    want[0][0], want[0][1]))
if encap == "nvgre":
    for k, v in flows.items():
        if len(v) != 1:
            errors.append("one inner flow %s carries several FlowIDs %s" % (k, sorted(v)))
for e in errors[:10]:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)
extra = ""
if encap == "nvgre":
    extra = ", FlowIDs per inner flow %s" % sorted({min(v) for v in flows.values()})
if encap == "stt":
    extra = ", TCP-like checksums correct"
print("%d frames, all id %d, inner ICMP both ways%s" % (n, want_id, extra))
