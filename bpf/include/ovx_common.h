/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Helpers shared by every ovx program: counters, MACs, the FDB. */
#ifndef OVX_COMMON_H
#define OVX_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/socket.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "ovx_maps.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/*
 * Programs look their segment's counters up once and bail out on NULL (an id
 * past the array), so helpers below take a pointer that is never NULL: clang
 * may compute field addresses before a NULL test, which the verifier rejects.
 */
static __always_inline struct ovx_seg_stats *seg_stats(__u32 segment)
{
	return bpf_map_lookup_elem(&ovx_seg_stats, &segment);
}

static __always_inline void count_drop(__u32 segment, enum ovx_drop_reason reason)
{
	struct ovx_seg_stats *st = seg_stats(segment);

	if (st && reason < OVX_DROP_MAX)
		st->drops[reason]++;
}

/* The counters of the port with index @index (struct ovx_port). */
static __always_inline struct ovx_port_stats *port_stats(__u32 index)
{
	return bpf_map_lookup_elem(&ovx_port_stats, &index);
}

/*
 * The index of port @ifindex, given as @index by an FDB entry, flood list or
 * shim: one written without (by an older ovx, before `upgrade --migrate`
 * numbered the ports) is resolved through ovx_ports, off the fast path.
 */
static __always_inline __u32 port_index(__u32 ifindex, __u16 index)
{
	const struct ovx_port *port;

	if (index != OVX_PORT_NONE)
		return index;
	port = bpf_map_lookup_elem(&ovx_ports, &ifindex);
	return port ? port->index : OVX_PORT_NONE;
}

/* A frame of @len bytes handed to the VM behind port @ifindex, index @index. */
static __always_inline void count_port_tx(__u32 ifindex, __u16 index, __u32 len)
{
	struct ovx_port_stats *ps = port_stats(port_index(ifindex, index));

	if (ps) {
		ps->tx_packets++;
		ps->tx_bytes += len;
	}
}

/*
 * What `ovx trace` shows of one event. Built only while a trace runs: the
 * fast path pays one test of the config flags it has already loaded.
 */
struct ovx_trace_info {
	__u32 ifindex;
	__u8 encap;
	const __u8 *src_mac;	/* inner frame; NULL when not parsed */
	const __u8 *dst_mac;
	const struct ovx_addr *outer_src;	/* NULL when none */
	const struct ovx_addr *outer_dst;
	__u32 len;
};

static __always_inline int trace_on(const struct ovx_config *cfg, __u8 kind)
{
	return cfg && (cfg->flags & (kind == OVX_TRACE_DROP ?
				     OVX_CFG_TRACE_DROPS | OVX_CFG_TRACE_ALL : OVX_CFG_TRACE_ALL));
}

static __always_inline void trace_emit(__u8 kind, __u8 reason, __u32 segment,
				  const struct ovx_trace_info *ti)
{
	struct ovx_trace_event *ev;

	if (!ti)
		return;
	ev = bpf_ringbuf_reserve(&ovx_trace, sizeof(*ev), 0);
	if (!ev)
		return;
	__builtin_memset(ev, 0, sizeof(*ev));
	ev->ts_ns = bpf_ktime_get_ns();
	ev->segment = segment;
	ev->ifindex = ti->ifindex;
	ev->kind = kind;
	ev->reason = reason;
	ev->encap = ti->encap;
	if (ti->src_mac)
		__builtin_memcpy(ev->src_mac, ti->src_mac, ETH_ALEN);
	if (ti->dst_mac)
		__builtin_memcpy(ev->dst_mac, ti->dst_mac, ETH_ALEN);
	if (ti->outer_src)
		ev->outer_src = *ti->outer_src;
	if (ti->outer_dst)
		ev->outer_dst = *ti->outer_dst;
	ev->len = ti->len;
	bpf_ringbuf_submit(ev, 0);
}

static __always_inline void trace(const struct ovx_config *cfg, __u8 kind, __u8 reason,
				  __u32 segment, const struct ovx_trace_info *ti)
{
	if (trace_on(cfg, kind))
		trace_emit(kind, reason, segment, ti);
}

static __always_inline const struct ovx_config *get_config(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&ovx_config, &zero);
}

static __always_inline int mac_is_multicast(const __u8 *mac)
{
	/* Broadcast is a multicast address too: the I/G bit decides. */
	return mac[0] & 1;
}

/* Word compares: callers pass packet or map pointers, never the stack. */
static __always_inline int mac_eq(const __u8 *a, const __u8 *b)
{
	return *(const __u32 *)a == *(const __u32 *)b &&
	       *(const __u16 *)(a + 4) == *(const __u16 *)(b + 4);
}

static __always_inline void mac_copy(__u8 *dst, const __u8 *src)
{
	__builtin_memcpy(dst, src, ETH_ALEN);
}

static __always_inline int addr_eq(const struct ovx_addr *a, const struct ovx_addr *b)
{
	return a->family == b->family && a->a[0] == b->a[0] && a->a[1] == b->a[1] &&
	       a->a[2] == b->a[2] && a->a[3] == b->a[3];
}

/*
 * The frame's coarse clock, read on first use and kept in *@now (0: not yet).
 * Most frames never need it (a sender seen a moment ago, a destination that
 * does not age), and on these paths the helper call costs about as much as
 * a hash lookup.
 */
static __always_inline __u64 now_ns(__u64 *now)
{
	if (!*now)
		*now = bpf_ktime_get_coarse_ns();
	return *now;
}

static __always_inline int vtep_member(__u32 segment, const struct ovx_addr *vtep)
{
	struct ovx_vtep_key key = { .segment = segment, .addr = *vtep };

	return bpf_map_lookup_elem(&ovx_vteps, &key) != NULL;
}

/*
 * May a frame from the underlay for @e, a MAC behind another VTEP, be sent
 * on to that VTEP? Only by a forwarding pointer (OVX_FDB_FORWARD) that has
 * not lapsed, and only to a VTEP of the segment. -1, or the drop reason:
 * split horizon where there is no pointer, as for any remote MAC.
 */
static __always_inline int fdb_forwarding(__u32 segment, const struct ovx_fdb_entry *e,
					  __u64 *now)
{
	if (e->kind != OVX_FDB_VTEP || !(e->flags & OVX_FDB_FORWARD) ||
	    now_ns(now) >= e->forward_until_ns)
		return OVX_DROP_SPLIT_HORIZON;
	if (!vtep_member(segment, &e->vtep))
		return OVX_DROP_UNKNOWN_VTEP;
	return -1;
}

static __always_inline int fdb_expired(const struct ovx_fdb_entry *e,
				       const struct ovx_segment *seg, __u64 *now)
{
	return (e->flags & OVX_FDB_LEARNED) && seg->aging_sec &&
	       now_ns(now) - e->seen_ns > (__u64)seg->aging_sec * 1000000000ull;
}

/*
 * Where (segment, mac) lives; NULL means unknown (flood). A learned entry
 * past the segment's aging time counts as unknown: aging happens here, on the
 * packet path, and the control plane only reclaims the memory later.
 */
static __always_inline const struct ovx_fdb_entry *
fdb_lookup(__u32 segment, const struct ovx_segment *seg, const __u8 *mac, __u64 *now)
{
	struct ovx_fdb_key key = { .segment = segment };
	const struct ovx_fdb_entry *e;

	mac_copy(key.mac, mac);
	e = bpf_map_lookup_elem(&ovx_fdb, &key);
	if (e && fdb_expired(e, seg, now))
		return NULL;
	return e;
}

/*
 * Room for one more learned entry in @segment: its own limit and the FDB's
 * (static entries keep the rest), taken with atomic adds and given back if
 * either is used up, so that the counts are exact on every CPU at once.
 */
static __always_inline int learn_reserve(__u32 segment, const struct ovx_segment *seg)
{
	const struct ovx_config *cfg = get_config();
	__u32 zero = 0;
	__u64 *mine = bpf_map_lookup_elem(&ovx_learned, &segment);
	__u64 *all = bpf_map_lookup_elem(&ovx_learned, &zero);

	if (!cfg || !mine || !all)
		return 0;
	if (__sync_fetch_and_add(mine, 1) >= seg->learn_max) {
		__sync_fetch_and_add(mine, -1);
		return 0;
	}
	if (__sync_fetch_and_add(all, 1) >= cfg->learn_max) {
		__sync_fetch_and_add(all, -1);
		__sync_fetch_and_add(mine, -1);
		return 0;
	}
	return 1;
}

static __always_inline void learn_release(__u32 segment)
{
	__u32 zero = 0;
	__u64 *mine = bpf_map_lookup_elem(&ovx_learned, &segment);
	__u64 *all = bpf_map_lookup_elem(&ovx_learned, &zero);

	if (mine)
		__sync_fetch_and_add(mine, -1);
	if (all)
		__sync_fetch_and_add(all, -1);
}

/*
 * Learn that (segment, mac) sits behind @vtep. Static entries are never
 * overridden; an entry that has not moved is rewritten at most once per
 * OVX_LEARN_REFRESH_NS so that a busy flow does not bounce the cache line.
 * A new entry needs room under the learning limits (learn_reserve); one
 * that finds none is counted (learn_refused) and the frame delivered all
 * the same. Returns whether the FDB now holds the source, as learned or
 * static: only then may fdb_learn_seen() skip its next frames.
 */
static __always_inline int fdb_learn(__u32 segment, const struct ovx_segment *seg,
				     const __u8 *mac, const struct ovx_addr *vtep,
				     struct ovx_seg_stats *st, __u64 *clock)
{
	struct ovx_fdb_key key = { .segment = segment };
	struct ovx_fdb_entry *e, fresh = {
		.kind = OVX_FDB_VTEP,
		.flags = OVX_FDB_LEARNED,
	};
	__u64 now = now_ns(clock);
	long err;
	int moved;

	mac_copy(key.mac, mac);
	fresh.vtep = *vtep;
	fresh.seen_ns = now;
	e = bpf_map_lookup_elem(&ovx_fdb, &key);
	if (e) {
		if (e->flags & OVX_FDB_STATIC)
			return 1;
		moved = e->kind != OVX_FDB_VTEP || !addr_eq(&e->vtep, vtep);
		if (!moved) {
			if (now - e->seen_ns >= OVX_LEARN_REFRESH_NS)
				e->seen_ns = now;
			return 1;
		}
		/* In place: an entry the control plane deleted meanwhile stays deleted. */
		if (bpf_map_update_elem(&ovx_fdb, &key, &fresh, BPF_EXIST))
			return 0;
		st->learned++;
		return 1;
	}
	if (!learn_reserve(segment, seg)) {
		st->learn_refused++;
		return 0;
	}
	err = bpf_map_update_elem(&ovx_fdb, &key, &fresh, BPF_NOEXIST);
	if (err == 0) {
		st->learned++;
		return 1;
	}
	learn_release(segment);
	if (err != -EEXIST)	/* not another CPU learning it first: the FDB is full */
		st->learn_refused++;
	return 0;
}

/*
 * fdb_learn() for a flow's frames: the source this CPU last found in the
 * segment's FDB, within OVX_LEARN_SEEN_JIFFIES, needs no FDB lookup and no
 * clock read at all (most frames of a flow): jiffies, which the verifier
 * inlines as one load, are exact enough for "a moment ago". A source the
 * control plane deletes meanwhile is learned again at most that much later;
 * a refused one is never skipped, so that learn_refused keeps counting frames.
 */
static __always_inline void fdb_learn_seen(__u32 segment, const struct ovx_segment *seg,
					   const __u8 *mac, const struct ovx_addr *vtep,
					   struct ovx_seg_stats *st, __u64 *now)
{
	struct ovx_learn_seen *last = bpf_map_lookup_elem(&ovx_learn_seen, &segment);
	__u64 jiffies = bpf_jiffies64();

	/* Byte by byte: @mac may be on the stack (TC's copy), unaligned. */
	if (last && jiffies - last->seen_jiffies < OVX_LEARN_SEEN_JIFFIES &&
	    !((last->mac[0] ^ mac[0]) | (last->mac[1] ^ mac[1]) | (last->mac[2] ^ mac[2]) |
	      (last->mac[3] ^ mac[3]) | (last->mac[4] ^ mac[4]) | (last->mac[5] ^ mac[5])) &&
	    addr_eq(&last->vtep, vtep))
		return;
	if (fdb_learn(segment, seg, mac, vtep, st, now) && last) {
		mac_copy(last->mac, mac);
		last->vtep = *vtep;
		last->seen_jiffies = jiffies;
	}
}

#endif /* OVX_COMMON_H */
