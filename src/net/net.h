/* SPDX-License-Identifier: BSD-3-Clause */
/* The virtio-net device type: packets in and out of the vrings. */
#ifndef VHU_NET_NET_H
#define VHU_NET_NET_H

#include <stdint.h>
#include <string.h>
#include <endian.h>
#include <linux/virtio_net.h>
#include <linux/virtio_config.h>
#include <vhu/pkt.h>
#include "vq/vq.h"

/* Header bytes for the negotiated features. */
uint32_t vhu_net_hdr_len(uint64_t features);

/* The guest-bound header as the little-endian words it fills in a
 * receive buffer: lo is bytes 0-7 (flags, gso_type, hdr_len, gso_size,
 * csum_start), hi bytes 8-11 (csum_offset, then num_buffers; a 10-byte
 * header ends after csum_offset). Built and passed in registers: the
 * inline paths never write it to memory and read it back (only the
 * out-of-line general case stores it, into a local for its iov copy).
 * A load spanning several earlier stores cannot take its data from
 * them and waits until every older store has reached the cache, the
 * previous packets' frame stores included, each waiting for its line to
 * come back from the guest's core. When the header was a struct read
 * back as words, half of enqueue's perf samples fell on that wait
 * (bench/cache_lines.md). */
struct vhu_net_rxhdr {
	uint64_t lo;
	uint32_t hi;
};

static inline void vhu_net_rxhdr_buffers(struct vhu_net_rxhdr *h, uint16_t num_buffers)
{
	h->hi = (h->hi & 0xffffu) | (uint32_t)num_buffers << 16;
}

/* The general case of vhu_net_hdr_build below. */
bool vhu_net_hdr_build_any(uint64_t features, const struct vhu_pkt *pkt,
			   struct vhu_net_rxhdr *h, bool *csum_fixup);
/* Whether offload metadata a guest sent is consistent and was offered:
 * NEEDS_CSUM only with CSUM and inside the packet; a GSO type only with
 * its HOST_ feature (ECN with HOST_ECN), a segment size of 1..pkt_len
 * and NEEDS_CSUM. */
bool vhu_net_ol_check(const struct vhu_pkt_offload *ol, uint32_t pkt_len, uint64_t features);
/* Features with every offload whose prerequisite is missing removed
 * (TSO, USO and UFO need the checksum offload of their direction, ECN
 * needs TSO): what is offered after an application turned some off. */
uint64_t vhu_net_features_fix(uint64_t features);

/* Fills the guest-bound header from pkt metadata, keeping only what the
 * guest negotiated. Returns false if the packet cannot be given to this
 * guest (GSO it cannot take). *csum_fixup is set when the checksum must
 * be completed in software because the guest did not take NEEDS_CSUM.
 * Inline for a packet without offloads: a call costs more than that. */
static inline bool vhu_net_hdr_build(uint64_t features, const struct vhu_pkt *pkt,
				     struct vhu_net_rxhdr *h, bool *csum_fixup)
{
	struct vhu_net_rxhdr any;
	bool fixup, ok;

	if (likely(pkt->ol.gso_type == VIRTIO_NET_HDR_GSO_NONE &&
		   !(pkt->ol.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID)))) {
		h->lo = 0;
		h->hi = 0;
		*csum_fixup = false;
		return true;
	}
	/* Through locals of its own, whose addresses escape into the call,
	 * so that the caller's h and csum_fixup stay in registers. */
	ok = vhu_net_hdr_build_any(features, pkt, &any, &fixup);
	*h = any;
	*csum_fixup = fixup;
	return ok;
}

/* Copies a guest-sent header's fields into pkt->ol and checks them
 * against the packet length. False: the packet is malformed. The check
 * is out of line: a header that asks for neither checksum nor
 * segmentation has nothing to check. */
static inline bool vhu_net_hdr_parse(const struct virtio_net_hdr_mrg_rxbuf *h,
				     uint32_t pkt_len, uint64_t features,
				     struct vhu_pkt_offload *ol)
{
	ol->flags = h->hdr.flags;
	ol->gso_type = h->hdr.gso_type;
	ol->hdr_len = le16toh(h->hdr.hdr_len);
	ol->gso_size = le16toh(h->hdr.gso_size);
	ol->csum_start = le16toh(h->hdr.csum_start);
	ol->csum_offset = le16toh(h->hdr.csum_offset);
	if (likely(!(ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
		   ol->gso_type == VIRTIO_NET_HDR_GSO_NONE))
		return true;
	return vhu_net_ol_check(ol, pkt_len, features);
}

/* Short copies inline: for a 64-byte frame, libc's memcpy call and its
 * size dispatch cost more than the copy itself. Overlapping 16-byte moves
 * (the last one ends at the last byte), so no byte loop and no branch per
 * byte; long copies still go to libc. An overlapped byte may be read
 * twice from guest memory: harmless, the destination gets one value. */
typedef uint8_t vhu_v16 __attribute__((vector_size(16), aligned(1), may_alias));
typedef uint64_t vhu_u64u __attribute__((aligned(1), may_alias));
typedef uint32_t vhu_u32u __attribute__((aligned(1), may_alias));
typedef uint16_t vhu_u16u __attribute__((aligned(1), may_alias));

static inline void vhu_copy(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (n >= 16) {
		if (unlikely(n > 256)) {
			memcpy(d, s, n);
			return;
		}
		vhu_v16 last = *(const vhu_v16 *)(const void *)(s + n - 16);
		for (uint32_t i = 0; i + 16 < n; i += 16)
			*(vhu_v16 *)(void *)(d + i) = *(const vhu_v16 *)(const void *)(s + i);
		*(vhu_v16 *)(void *)(d + n - 16) = last;
	} else if (n >= 8) {
		uint64_t a = *(const vhu_u64u *)(const void *)s;
		uint64_t b = *(const vhu_u64u *)(const void *)(s + n - 8);
		*(vhu_u64u *)(void *)d = a;
		*(vhu_u64u *)(void *)(d + n - 8) = b;
	} else if (n >= 4) {
		uint32_t a = *(const vhu_u32u *)(const void *)s;
		uint32_t b = *(const vhu_u32u *)(const void *)(s + n - 4);
		*(vhu_u32u *)(void *)d = a;
		*(vhu_u32u *)(void *)(d + n - 4) = b;
	} else if (n) {
		d[0] = s[0];
		d[n - 1] = s[n - 1];
		if (n == 3)
			d[1] = s[1];
	}
}

/* The virtio-net header is 12 bytes, or 10 for legacy guests without
 * MRG_RXBUF: fixed-size copies the compiler inlines. */
static inline void vhu_copy_hdr(void *dst, const void *src, uint32_t hdr_len)
{
	if (likely(hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)))
		__builtin_memcpy(dst, src, sizeof(struct virtio_net_hdr_mrg_rxbuf));
	else
		__builtin_memcpy(dst, src, sizeof(struct virtio_net_hdr));
}

/* The header's hdr_len bytes into dst. */
static inline void vhu_net_rxhdr_store(void *dst, struct vhu_net_rxhdr h, uint32_t hdr_len)
{
	uint8_t *d = dst;

	*(vhu_u64u *)(void *)d = htole64(h.lo);
	if (likely(hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)))
		*(vhu_u32u *)(void *)(d + 8) = htole32(h.hi);
	else
		*(vhu_u16u *)(void *)(d + 8) = htole16((uint16_t)h.hi);
}

/* The header into a guest's receive buffer, stored only where it differs
 * from what the buffer holds. The guest only reads this header, and a
 * buffer it recycles (DPDK's mempool, Linux's page pool) holds the one it
 * got last time: a store would take the line out of the guest's cache
 * and the guest's read bring it back, two transfers between the cores.
 * The same on split and packed rings (bench/cache_lines.md has the
 * measurements). Reading guest memory here decides nothing but whether
 * to store. */
static inline void vhu_net_put_hdr(void *dst, struct vhu_net_rxhdr h, uint32_t hdr_len)
{
	const uint8_t *d = dst;
	uint64_t x = le64toh(*(const vhu_u64u *)(const void *)d) ^ h.lo;

	if (likely(hdr_len == sizeof(struct virtio_net_hdr_mrg_rxbuf)))
		x |= le32toh(*(const vhu_u32u *)(const void *)(d + 8)) ^ h.hi;
	else
		x |= (uint16_t)(le16toh(*(const vhu_u16u *)(const void *)(d + 8)) ^ h.hi);
	if (x)
		vhu_net_rxhdr_store(dst, h, hdr_len);
}

/* Byte copies between iov pieces and flat memory, starting `off` bytes
 * into the iov list. Return bytes copied. */
uint32_t vhu_iov_to_buf(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			void *dst, uint32_t len);
uint32_t vhu_buf_to_iov(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			const void *src, uint32_t len);

/* The general cases of vhu_net_pkt_to_iov and vhu_net_chain_to_pkt
 * below, which handle the common ones inline (a call's register saves
 * cost about as much as a 64-byte copy). The first also has a fast case
 * of its own: a zero-copy packet (two segments) into one piece. */
uint32_t vhu_net_pkt_to_iov_any(struct vhu_vq *vq, const struct vhu_iov *iov, uint32_t niov,
				struct vhu_net_rxhdr h, const struct vhu_pkt *pkt,
				bool csum_fixup) VHU_REQUIRES(vq->lock);
int vhu_net_chain_to_pkt_any(struct vhu_vq *vq, const struct vhu_iov *iov, uint32_t niov,
			     uint32_t total, struct vhu_pkt *p, struct vhu_pkt_pool *pool)
	VHU_REQUIRES(vq->lock);
/* Counts and logs (once per vring at WARN) a packet dropped for its bad
 * offload header; returns 0. */
int vhu_net_bad_hdr(struct vhu_vq *vq, const struct virtio_net_hdr_mrg_rxbuf *h,
		    const struct vhu_pkt *p, uint32_t len) VHU_REQUIRES(vq->lock);

/* Header and packet into guest buffers (software checksum when
 * csum_fixup, dirty-logged); returns bytes written. Inline: one segment
 * into the first piece, no logging. */
static inline uint32_t vhu_net_pkt_to_iov(struct vhu_vq *vq, const struct vhu_iov *iov,
					  uint32_t niov, struct vhu_net_rxhdr h,
					  const struct vhu_pkt *pkt, bool csum_fixup)
	VHU_REQUIRES(vq->lock)
{
	const uint32_t hdr_len = vq->hdr_len;

	if (likely(niov && !pkt->next && !csum_fixup &&
		   iov[0].len >= hdr_len + pkt->data_len && !vhu_vq_logging(vq))) {
		vhu_net_put_hdr(iov[0].base, h, hdr_len);
		vhu_copy(iov[0].base + hdr_len, vhu_pkt_data(pkt), pkt->data_len);
		return hdr_len + pkt->data_len;
	}
	return vhu_net_pkt_to_iov_any(vq, iov, niov, h, pkt, csum_fixup);
}

/* len bytes of guest buffers from offset off into pkt, chaining extra
 * segments from pool; false when the pool ran dry. */
bool vhu_net_iov_to_pkt(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			uint32_t len, struct vhu_pkt *pkt, struct vhu_pkt_pool *pool);

/* One walked transmit buffer (niov pieces, total bytes) into p: 1 when p
 * holds the packet, 0 when it was dropped (counted), -1 when the vring
 * broke. Inline: header and frame in one piece, the frame fits p. The
 * header is copied to a local first and only the local is parsed. */
static inline int vhu_net_chain_to_pkt(struct vhu_vq *vq, const struct vhu_iov *iov,
				       uint32_t niov, uint32_t total, struct vhu_pkt *p,
				       struct vhu_pkt_pool *pool) VHU_REQUIRES(vq->lock)
{
	const uint32_t hdr_len = vq->hdr_len;

	if (likely(niov == 1 && total >= hdr_len && total - hdr_len <= vhu_pkt_tailroom(p))) {
		struct virtio_net_hdr_mrg_rxbuf h;
		uint32_t len = total - hdr_len;
		const uint8_t *b = iov[0].base;

		h.num_buffers = 0; /* not in a 10-byte header */
		vhu_copy_hdr(&h, b, hdr_len);
		if (unlikely(!vhu_net_hdr_parse(&h, len, vq->features, &p->ol)))
			return vhu_net_bad_hdr(vq, &h, p, len);
		vhu_copy(vhu_pkt_data(p), b + hdr_len, len);
		p->data_len = p->pkt_len = len;
		return 1;
	}
	return vhu_net_chain_to_pkt_any(vq, iov, niov, total, p, pool);
}

/* A burst of n that the pool could not supply, shrunk to what it has
 * now (fewer than n). The pool is read once: with other threads freeing
 * into it, a second read could exceed n. */
static inline uint16_t vhu_pkt_shrink(const struct vhu_pkt_pool *pool, uint16_t n)
{
	uint32_t avail = vhu_pkt_pool_avail(pool);
	return (uint16_t)(avail < n - 1u ? avail : n - 1u);
}

/* A RARP announcing mac (SEND_RARP after migration), into a fresh packet. */
struct vhu_pkt *vhu_net_make_rarp(struct vhu_pkt_pool *pool, const uint8_t mac[6]);

uint16_t vhu_split_enqueue(struct vhu_vq *vq, struct vhu_pkt *const *pkts,
			   uint16_t n) VHU_REQUIRES(vq->lock);
uint16_t vhu_split_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			   struct vhu_pkt **pkts, uint16_t n) VHU_REQUIRES(vq->lock);
uint16_t vhu_packed_enqueue(struct vhu_vq *vq, struct vhu_pkt *const *pkts,
			    uint16_t n) VHU_REQUIRES(vq->lock);
uint16_t vhu_packed_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			    struct vhu_pkt **pkts, uint16_t n) VHU_REQUIRES(vq->lock);
/* Either ring type, for a vring with vq->held (dequeue_zc.c). */
uint16_t vhu_zc_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			struct vhu_pkt **pkts, uint16_t n) VHU_REQUIRES(vq->lock);

#endif
