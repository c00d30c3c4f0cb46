/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Software segmentation (vhu_pkt_gso_segment): what a NIC's TSO/USO engine
 * does, for an egress that cannot take a superframe. The headers are
 * parsed from the frame itself; the offload metadata only has to agree
 * with them, it is never the source of an offset.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>
#include <linux/virtio_net.h>
#include "common/compiler.h"
#include "pkt/csum.h"

#define ETH_LEN 14
#define VLAN_LEN 4
/* Ethernet, tags, the longest IPv4 header, the longest TCP header. */
#define HDR_MAX (ETH_LEN + VHU_PKT_MAX_TAGS * VLAN_LEN + 60 + 60)

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_CWR 0x80

struct layout {
	uint32_t l3, l4, hlen; /* offsets of IP and TCP/UDP, bytes of headers */
	bool v6, tcp;
};

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) { return (uint32_t)get16(p) << 16 | get16(p + 2); }
static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v); }

/* Parses the n header bytes at h for a segmentable frame: Ethernet, up to
 * VHU_PKT_MAX_TAGS VLAN tags, IPv4 (options allowed, not a fragment) or IPv6
 * (no extension headers), then TCP (options allowed) or UDP. want_v is
 * the IP version the GSO type names, 0 for either. */
static int parse(const uint8_t *h, uint32_t n, int want_v, bool tcp, struct layout *o)
{
	uint32_t off = ETH_LEN, l4;
	unsigned tags = 0;
	uint16_t et;
	uint8_t proto;

	if (n < ETH_LEN)
		return -EINVAL;
	et = get16(h + 12);
	while (et == 0x8100 || et == 0x88a8 || et == 0x9100) {
		if (++tags > VHU_PKT_MAX_TAGS)
			return -ENOTSUP;
		if (off + VLAN_LEN > n)
			return -EINVAL;
		et = get16(h + off + 2);
		off += VLAN_LEN;
	}
	o->l3 = off;
	if (et == 0x0800 && want_v != 6) {
		uint32_t ihl;
		if (off + 20 > n || h[off] >> 4 != 4)
			return -EINVAL;
		ihl = (h[off] & 0xfu) * 4;
		/* A fragment (MF or an offset) cannot also be a GSO frame. */
		if (ihl < 20 || off + ihl > n || (get16(h + off + 6) & 0x3fff))
			return -EINVAL;
		proto = h[off + 9];
		l4 = off + ihl;
		o->v6 = false;
	} else if (et == 0x86dd && want_v != 4) {
		if (off + 40 > n || h[off] >> 4 != 6)
			return -EINVAL;
		proto = h[off + 6];
		l4 = off + 40;
		o->v6 = true;
	} else {
		return -EINVAL;
	}
	if (proto != (tcp ? 6 : 17))
		/* Another next header is an extension header we do not walk;
		 * the other transport is a lie about the GSO type. */
		return o->v6 && proto != 6 && proto != 17 ? -ENOTSUP : -EINVAL;
	o->l4 = l4;
	o->tcp = tcp;
	if (tcp) {
		uint32_t doff;
		if (l4 + 20 > n)
			return -EINVAL;
		doff = (uint32_t)(h[l4 + 12] >> 4) * 4;
		if (doff < 20 || l4 + doff > n)
			return -EINVAL;
		o->hlen = l4 + doff;
	} else {
		if (l4 + 8 > n)
			return -EINVAL;
		o->hlen = l4 + 8;
	}
	return 0;
}

/* Appends to a frame being built, chaining segments from pool when the
 * last one is full. */
struct writer {
	struct vhu_pkt *head, *tail;
	struct vhu_pkt_pool *pool;
};

static int put(struct writer *w, const uint8_t *p, uint32_t n)
{
	while (n) {
		uint32_t room = vhu_pkt_tailroom(w->tail);
		if (!room) {
			struct vhu_pkt *s = vhu_pkt_alloc(w->pool);
			if (!s)
				return -ENOMEM;
			w->tail->next = s;
			w->tail = s;
			w->head->nb_segs++;
			continue;
		}
		uint32_t k = VHU_MIN(room, n);
		memcpy(vhu_pkt_data(w->tail) + w->tail->data_len, p, k);
		w->tail->data_len += k;
		w->head->pkt_len += k;
		p += k;
		n -= k;
	}
	return 0;
}

/* Where the payload copy stands in the source chain. */
struct reader {
	const struct vhu_pkt *seg;
	uint32_t off;
};

static int put_from(struct writer *w, struct reader *r, uint32_t n)
{
	while (n) {
		while (r->seg && r->off >= r->seg->data_len) {
			r->off -= r->seg->data_len;
			r->seg = r->seg->next;
		}
		if (!r->seg)
			return -EINVAL; /* pkt_len promised more than the chain holds */
		uint32_t k = VHU_MIN(r->seg->data_len - r->off, n);
		int rc = put(w, vhu_pkt_data(r->seg) + r->off, k);
		if (rc)
			return rc;
		r->off += k;
		n -= k;
	}
	return 0;
}

/* Segment i of nseg (pl payload bytes) into w: the headers h fixed for
 * it, its payload from r, its transport checksum completed. */
static int build(struct writer *w, struct reader *r, const uint8_t *h, const struct layout *L,
		 uint32_t i, uint32_t nseg, uint32_t pl, uint32_t mss, uint16_t pseudo)
{
	uint8_t f[HDR_MAX];
	const uint32_t l3 = L->l3, l4 = L->l4, l4len = L->hlen - l4 + pl;
	const uint32_t csum_off = L->tcp ? 16 : 6;
	int rc;

	memcpy(f, h, L->hlen);
	if (L->v6) {
		put16(f + l3 + 4, L->hlen - l3 - 40 + pl);
	} else {
		/* Each segment its own id, as Linux's GSO numbers them. */
		put16(f + l3 + 2, L->hlen - l3 + pl);
		put16(f + l3 + 4, get16(h + l3 + 4) + i);
		put16(f + l3 + 10, 0);
		put16(f + l3 + 10, (uint16_t)~vhu_csum_buf(f + l3, l4 - l3, 0));
	}
	if (L->tcp) {
		uint8_t fl = h[l4 + 13];
		put32(f + l4 + 4, get32(h + l4 + 4) + i * mss);
		/* One window reduction is signalled once: CWR on the first
		 * only (as Linux's GSO does, GSO_ECN or not); FIN and PSH end
		 * the superframe, so only the last carries them. */
		if (i > 0)
			fl &= (uint8_t)~TCP_CWR;
		if (i + 1 < nseg)
			fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
		f[l4 + 13] = fl;
	} else {
		put16(f + l4 + 4, l4len);
	}
	/* The field holds the pseudo-header sum, as with NEEDS_CSUM; the
	 * one checksum routine then sums [l4, end) over it. */
	put16(f + l4 + csum_off, vhu_csum_fold((uint64_t)pseudo + l4len));
	rc = put(w, f, L->hlen);
	if (!rc)
		rc = put_from(w, r, pl);
	if (rc)
		return rc;
	w->head->ol.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	w->head->ol.csum_start = (uint16_t)l4;
	w->head->ol.csum_offset = (uint16_t)csum_off;
	return vhu_pkt_csum_complete(w->head);
}

VHU_EXPORT int vhu_pkt_gso_segment(struct vhu_pkt *pkt, struct vhu_pkt_pool *pool,
				   struct vhu_pkt **out, unsigned max)
{
	const struct vhu_pkt_offload *ol = &pkt->ol;
	const bool ecn = ol->gso_type & VIRTIO_NET_HDR_GSO_ECN;
	uint8_t h[HDR_MAX];
	struct layout L;
	uint32_t n, payload, mss = ol->gso_size, nseg;
	uint16_t pseudo;
	int want_v, rc;
	bool tcp;

	switch (ol->gso_type & ~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return -EINVAL;
	case VIRTIO_NET_HDR_GSO_TCPV4: want_v = 4; tcp = true; break;
	case VIRTIO_NET_HDR_GSO_TCPV6: want_v = 6; tcp = true; break;
	case VHU_NET_HDR_GSO_UDP_L4:
		if (ecn)
			return -EINVAL; /* ECN is a TCP flag */
		want_v = 0;
		tcp = false;
		break;
	default:
		return -ENOTSUP; /* legacy UFO (IP fragments) among them */
	}
	/* The spec has the driver ask for the checksum with any GSO type;
	 * without NEEDS_CSUM csum_start cannot be checked against the L4. */
	if (mss == 0 || !(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return -EINVAL;
	n = vhu_pkt_read(pkt, 0, h, VHU_MIN(pkt->pkt_len, (uint32_t)sizeof(h)));
	rc = parse(h, n, want_v, tcp, &L);
	if (rc)
		return rc;
	/* hdr_len is a hint (exact only with GUEST_HDRLEN): 0, or at least
	 * the headers (Linux sends its linear length, which may be more). */
	if (ol->csum_start != L.l4 || ol->csum_offset != (tcp ? 16 : 6) ||
	    ol->hdr_len > pkt->pkt_len || (ol->hdr_len && ol->hdr_len < L.hlen) ||
	    pkt->pkt_len <= L.hlen)
		return -EINVAL;
	payload = pkt->pkt_len - L.hlen;
	/* IPv4 total length (the longest of the 16-bit lengths) must fit. */
	if (L.hlen - L.l3 + VHU_MIN(mss, payload) > 0xffff)
		return -EINVAL;
	nseg = payload / mss + (payload % mss != 0);
	if (nseg > max || nseg > INT_MAX)
		return -ENOBUFS;
	if (vhu_pkt_alloc_bulk(pool, out, nseg))
		return -ENOMEM;

	/* Addresses and protocol; each segment adds its own length. */
	if (L.v6)
		pseudo = vhu_csum_buf(h + L.l3 + 8, 32, tcp ? 6 : 17);
	else
		pseudo = vhu_csum_buf(h + L.l3 + 12, 8, tcp ? 6 : 17);
	struct reader r = { pkt, L.hlen };
	for (uint32_t i = 0; i < nseg; i++) {
		struct writer w = { out[i], out[i], pool };
		out[i]->port = pkt->port;
		out[i]->user = pkt->user;
		rc = build(&w, &r, h, &L, i, nseg, VHU_MIN(mss, payload - i * mss), mss, pseudo);
		if (rc) {
			vhu_pkt_free_bulk(out, nseg);
			return rc;
		}
	}
	return (int)nseg;
}
