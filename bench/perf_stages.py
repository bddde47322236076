#!/usr/bin/python3
"""Where the dataplane core's time goes: reads `perf record -g` samples of
one CPU and sorts each into the stage of the overlay path it was spent in,
by the innermost function of its call chain that names a stage (so a sample
in pskb_expand_head under bpf_skb_adjust_room under the ovx_tc_port program
counts as the head reallocation, not as the program). Prints, per stage, the
share of the samples and ns per frame (samples x period / frames).

    perf_stages.py PERF_DATA FRAMES

FRAMES: the frames the receiver counted while perf recorded."""
import collections
import re
import subprocess
import sys

STAGES = (  # (stage, regex on a call-chain symbol), innermost match wins
    ("ovx_tc_port: head reallocation (bpf_skb_adjust_room)", r"^bpf_skb_adjust_room$"),
    ("ovx_tc_port: bpf_fib_lookup", r"^bpf_skb_fib_lookup$"),
    ("ovx_tc_port: the rest (maps, header writes, checks)", r"_ovx_tc_port$"),
    ("h1: redirect, transmit into the underlay veth", r"^(__bpf_redirect|skb_do_redirect)$"),
    ("ovx_tc_underlay (eth1 egress)", r"_ovx_tc_underlay$"),
    ("h2: copy of the frame for XDP on veth (skb_pp_cow_data)", r"^skb_pp_cow_data$"),
    ("h2: generic XDP (headroom, program run)", r"^do_xdp_generic$"),
    ("ovx_xdp_underlay (decap, lookups, learning)", r"_ovx_xdp_underlay$"),
    ("h2: XDP redirect into b2's veth", r"^(xdp_do_redirect|xdp_do_flush|veth_xdp_xmit|bq_xmit_all)$"),
    ("kernel vxlan: encap, route, ip_output", r"^vxlan_xmit$"),
    ("kernel vxlan: IP and UDP receive", r"^(ip_rcv|ip_list_rcv|ip_local_deliver|__udp4_lib_rcv)$"),
    ("kernel vxlan: decap (vxlan_rcv)", r"^vxlan_rcv$"),
    ("bridges: forwarding, FDB lookup, learning", r"^br_handle_frame$"),
    ("br_netfilter hooks (no rules)", r"^br_nf_"),
    ("b2's nft sink", r"^nft_do_chain_netdev$"),
    ("GRO (ovx: b2's NAPI; kernel: vxlan's gro_cells)", r"^gro_receive_skb$"),
    ("veth transmit", r"^veth_xmit$"),
    ("backlog enqueue (netif_rx, RPS)", r"^(enqueue_to_backlog|netif_rx_internal|__netif_rx)$"),
    ("skb free", r"^(kfree_skb|consume_skb|sk_skb_reason_drop|skb_release_data|kfree_skbmem|"
     r"napi_consume_skb)"),
)
IDLE = "idle"
OTHER = "not the dataplane (other processes)"
REST = "rest of the receive path (backlog, veth NAPI, netif_receive_skb)"


def main():
    data, frames = sys.argv[1], int(sys.argv[2])
    if frames <= 0:
        sys.exit("perf_stages: no frame was received while perf recorded")
    script = subprocess.run(["perf", "script", "-i", data], capture_output=True, text=True,
                            check=True).stdout
    stages = collections.Counter()
    period = 0
    for block in script.split("\n\n"):
        lines = block.strip().split("\n")
        if len(lines) < 2:
            continue
        m = re.search(r"(\d+) cpu-clock", lines[0])
        period = int(m.group(1)) if m else period
        chain = [re.sub(r"\+0x[0-9a-f]+$", "", f.split()[1]) for f in lines[1:] if len(f.split()) > 1]
        if "do_idle" in chain:
            stages[IDLE] += 1
        elif "net_rx_action" not in chain:
            stages[OTHER] += 1
        else:
            stages[next((name for sym in chain for name, rx in STAGES if re.search(rx, sym)),
                        REST)] += 1
    total = sum(stages.values())
    if not total or not period:
        sys.exit(f"perf_stages: no cpu-clock sample in {data}")
    dataplane = total - stages[IDLE] - stages[OTHER]
    print(f"{total} samples of {period} ns; the overlay: {dataplane * period / frames:.0f} ns "
          f"per frame\n")
    print("| stage | share of the core | ns per frame |")
    print("|---|---|---|")
    for name, n in stages.most_common():
        print(f"| {name} | {100 * n / total:.1f}% | {n * period / frames:.0f} |")


if __name__ == "__main__":
    main()
