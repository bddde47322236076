// The segmenter: a veth pair per instance whose software GSO cuts a VM's
// TSO frames on STT segments into MTU-sized frames with complete checksums.
//
// STT's own design cuts a TSO frame after the outer TCP header (the NIC's
// TCP segmentation), but the kernel refuses to segment a frame whose
// checksum offload (csum_start) points at another header than the TCP one
// it cuts: a VM's frame points at its inner TCP header, and no BPF helper
// can move it. tc_port therefore sends such a frame out of the segmenter's
// send side (bpf_redirect), its VM port's ifindex in skb->mark. With
// transmit checksumming (and so TSO) off there, the kernel segments the
// frame and completes each segment's checksum; the segments arrive at the
// return side, whose tc_port (an ovx_ports entry with segment 0) takes each
// as a frame from that VM port. GRO is off on the return side, so that the
// segments stay apart. ifb, the obvious device, cannot serve: it hands
// frames back to the port with TC classification skipped.
#pragma once

#include <string>

namespace ovx {

struct Segmenter {
	int send_ifindex = 0;
	int return_ifindex = 0;
};

// The segmenter's send side's interface name for @instance: "ovxseg" and 8
// hex digits of a hash of the name (interface names are at most 15
// characters); the return side adds "r".
std::string segmenter_name(const std::string &instance);

// Creates the segmenter of @instance when missing (both sides up, their
// alias naming the instance) and returns its interfaces.
Segmenter ensure_segmenter(const std::string &instance);

// Removes the segmenter of @instance; false when there was none.
bool remove_segmenter(const std::string &instance);

} // namespace ovx
