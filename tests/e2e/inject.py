#!/usr/bin/python3
"""Sends crafted frames for the counter and trace tests (scapy, raw sockets).

  inject.py IFACE COUNT KIND [--src-mac M --dst-mac M --src-ip A --dst-ip A
                              --vni N --inner-src M --inner-dst M --port P]

KIND:
  vxlan      a well-formed VXLAN frame (I flag, VNI) carrying an inner Ethernet
             frame inner-src -> inner-dst with an IPv4/UDP payload
  noflag     the same without the VXLAN I flag
  fragment   the same with the outer IPv4 "more fragments" bit set
  truncated  VXLAN header followed by 6 bytes: no room for an inner header
  eth        a plain Ethernet frame src-mac -> dst-mac (what a VM sends)
  geneve     Geneve (VNI, protocol 0x6558) with --geneve-opt: none, noncrit
             (one unknown option, critical bit clear), crit (the same with the
             critical bit set in its type, C flag clear) or critflag (no
             option type critical, but the C flag set)
  nvgre      NVGRE: GRE with the key bit only, protocol 0x6558, key = VSID
             (--vni) << 8 | FlowID 0x5a
  nvgre-csum the same with the GRE checksum bit also set (not NVGRE's)
  stt        one STT frame (context ID --vni) whose inner frame is padded to
             --size bytes, sent as --segs TCP-like segments of one frame
             (sequence = frame length << 16 | offset, ack = --frame-id);
             --stt-len overrides the frame length written in every segment,
             --send I,J sends only those segments (0 is the first)
The outer header is IPv6 when --dst-ip is an IPv6 address.
"""
import argparse
import sys

from scapy.all import Ether, IP, IPv6, TCP, UDP, Raw, sendp  # noqa: E402
from scapy.contrib.geneve import GENEVE, GeneveOptions  # noqa: E402
from scapy.layers.l2 import GRE  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402

ETH_P_TEB = 0x6558
STT_PORT = 7471


def inner(args):
    return (Ether(src=args.inner_src, dst=args.inner_dst) /
            IP(src="10.0.0.200", dst="10.0.0.201") / UDP(sport=1234, dport=5678) /
            Raw(b"ovx-e2e" * 8))


def outer_ip(args, **kw):
    if ":" in args.dst_ip:
        return IPv6(src=args.src_ip, dst=args.dst_ip)
    return IP(src=args.src_ip, dst=args.dst_ip, **kw)


def geneve(args):
    opts, crit = [], 0
    if args.geneve_opt in ("noncrit", "crit"):
        # Class 0xfff0 is experimental (RFC 8926 section 8): nobody's option.
        opts = [GeneveOptions(classid=0xfff0, type=0x81 if args.geneve_opt == "crit" else 0x01,
                              length=1, data=b"ovx!")]
    if args.geneve_opt == "critflag":
        crit = 1
    return GENEVE(vni=args.vni, proto=ETH_P_TEB, critical=crit, options=opts)


def stt_segments(args):
    """One STT frame as TCP-like segments (draft-davie-stt-08 section 3)."""
    inner_frame = bytes(inner(args))
    if len(inner_frame) < args.size:
        inner_frame += b"\0" * (args.size - len(inner_frame))
    hdr = bytes([0, 0, 0, 0]) + (0).to_bytes(2, "big") + (0).to_bytes(2, "big") + \
        args.vni.to_bytes(8, "big") + b"\0\0"
    stt = hdr + inner_frame
    length = args.stt_len if args.stt_len is not None else len(stt)
    chunk = -(-len(stt) // args.segs)
    out = []
    for off in range(0, len(stt), chunk):
        tcp = TCP(sport=49152, dport=STT_PORT, seq=(length << 16) | off, ack=args.frame_id,
                  flags="PA", window=0xffff)
        out.append(Ether(src=args.src_mac, dst=args.dst_mac) / outer_ip(args, flags="DF") / tcp /
                   Raw(stt[off:off + chunk]))
    return out


def frame(args):
    outer = Ether(src=args.src_mac, dst=args.dst_mac)
    if args.kind == "eth":
        return outer / IP(src="10.0.0.200", dst="10.0.0.201") / UDP(sport=1, dport=2) / Raw(b"x" * 32)
    if args.kind == "geneve":
        return outer / outer_ip(args) / UDP(sport=49152, dport=args.port, chksum=0) / geneve(args) / inner(args)
    if args.kind in ("nvgre", "nvgre-csum"):
        gre = GRE(key_present=1, proto=ETH_P_TEB, key=(args.vni << 8) | 0x5a,
                  chksum_present=1 if args.kind == "nvgre-csum" else 0)
        return outer / outer_ip(args) / gre / inner(args)
    ip = outer_ip(args, flags="MF" if args.kind == "fragment" else 0)
    udp = UDP(sport=49152, dport=args.port, chksum=0)
    if args.kind == "truncated":
        return outer / ip / udp / VXLAN(flags=0x08, vni=args.vni) / Raw(b"\x02" * 6)
    vx = VXLAN(flags=0x00 if args.kind == "noflag" else 0x08, vni=args.vni)
    return outer / ip / udp / vx / inner(args)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("iface")
    p.add_argument("count", type=int)
    p.add_argument("kind", choices=["vxlan", "noflag", "fragment", "truncated", "eth", "geneve",
                                    "nvgre", "nvgre-csum", "stt"])
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-ip", default="192.168.77.2")
    p.add_argument("--dst-ip", default="192.168.77.1")
    p.add_argument("--vni", type=int, default=5001)
    p.add_argument("--port", type=int, default=4789)
    p.add_argument("--geneve-opt", choices=["none", "noncrit", "crit", "critflag"], default="none")
    p.add_argument("--size", type=int, default=0)
    p.add_argument("--segs", type=int, default=1)
    p.add_argument("--frame-id", type=int, default=0x0e2e0001)
    p.add_argument("--stt-len", type=int)
    p.add_argument("--send", help="STT: indices of the segments to send")
    p.add_argument("--inner-src", default="02:00:00:00:02:01")
    p.add_argument("--inner-dst", default="ff:ff:ff:ff:ff:ff")
    args = p.parse_args()
    if args.kind == "stt":
        segs = stt_segments(args)
        if args.send:
            segs = [segs[int(i)] for i in args.send.split(",")]
        sendp(segs * args.count, iface=args.iface, verbose=False)
        print("sent %d STT frame(s) of %d segments (%s bytes) on %s" %
              (args.count, len(segs), "+".join(str(len(p)) for p in segs), args.iface))
        return 0
    pkt = frame(args)
    sendp([pkt] * args.count, iface=args.iface, verbose=False)
    print("sent %d %s frame(s) of %d bytes on %s" % (args.count, args.kind, len(pkt), args.iface))
    return 0


if __name__ == "__main__":
    sys.exit(main())
