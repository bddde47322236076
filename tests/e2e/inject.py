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
"""
import argparse
import sys

from scapy.all import Ether, IP, UDP, Raw, sendp  # noqa: E402
from scapy.layers.vxlan import VXLAN  # noqa: E402


def inner(args):
    return (Ether(src=args.inner_src, dst=args.inner_dst) /
            IP(src="10.0.0.200", dst="10.0.0.201") / UDP(sport=1234, dport=5678) /
            Raw(b"ovx-e2e" * 8))


def frame(args):
    outer = Ether(src=args.src_mac, dst=args.dst_mac)
    if args.kind == "eth":
        return outer / IP(src="10.0.0.200", dst="10.0.0.201") / UDP(sport=1, dport=2) / Raw(b"x" * 32)
    ip = IP(src=args.src_ip, dst=args.dst_ip, flags="MF" if args.kind == "fragment" else 0)
    udp = UDP(sport=49152, dport=args.port, chksum=0)
    if args.kind == "truncated":
        return outer / ip / udp / VXLAN(flags=0x08, vni=args.vni) / Raw(b"\x02" * 6)
    vx = VXLAN(flags=0x00 if args.kind == "noflag" else 0x08, vni=args.vni)
    return outer / ip / udp / vx / inner(args)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("iface")
    p.add_argument("count", type=int)
    p.add_argument("kind", choices=["vxlan", "noflag", "fragment", "truncated", "eth"])
    p.add_argument("--src-mac", required=True)
    p.add_argument("--dst-mac", required=True)
    p.add_argument("--src-ip", default="192.168.77.2")
    p.add_argument("--dst-ip", default="192.168.77.1")
    p.add_argument("--vni", type=int, default=5001)
    p.add_argument("--port", type=int, default=4789)
    p.add_argument("--inner-src", default="02:00:00:00:02:01")
    p.add_argument("--inner-dst", default="ff:ff:ff:ff:ff:ff")
    args = p.parse_args()
    pkt = frame(args)
    sendp([pkt] * args.count, iface=args.iface, verbose=False)
    print("sent %d %s frame(s) of %d bytes on %s" % (args.count, args.kind, len(pkt), args.iface))


if __name__ == "__main__":
    sys.exit(main())
