/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The copy pass over a burst's gathered run of single-descriptor buffers
 * (vq/gather.h), shared by the split and packed enqueue and dequeue: only
 * the shadow entries differ between the ring types.
 */
#ifndef VHU_NET_RUN_H
#define VHU_NET_RUN_H

#include "net/net.h"
#include "vq/gather.h"

/* Enqueue's first pass: packets into the gathered single-descriptor
 * buffers vq->iov[0..k) (vq/gather.h), one each, from packet *i and
 * buffer *b on, the bytes written into each buffer's shadow entry (the
 * uint32_t at len0 + buffer * stride bytes: split and packed shadow
 * entries differ). A packet without MRG_RXBUF that its buffer can never
 * take is dropped and the buffer kept; one that needs several buffers
 * under MRG_RXBUF stops the pass for the general walk. */
static inline void vhu_net_fill_run(struct vhu_vq *vq, struct vhu_pkt *const *pkts,
				    uint16_t n, uint16_t *i, uint16_t *b, uint16_t k,
				    bool mrg, uint64_t *bytes, uint64_t *delivered,
				    uint32_t *len0, size_t stride) VHU_REQUIRES(vq->lock)
{
	const struct vhu_iov *iov = vq->iov;
	const uint32_t hdr_len = vq->hdr_len;
	const uint64_t features = vq->features;
	uint16_t pi = *i, bi = *b;

	for (; pi < n && bi < k; pi++) {
		const struct vhu_pkt *pkt = pkts[pi];
		struct vhu_net_rxhdr h;
		bool fixup;

		vhu_gather_ahead(iov, bi, k, true, hdr_len);
		if (pi + 1 < n)
			vhu_prefetch(vhu_pkt_data(pkts[pi + 1]));
		if (unlikely(!vhu_net_hdr_build(features, pkt, &h, &fixup))) {
			VHU_STAT_ADD(vq->stats.drops, 1); /* GSO this guest cannot take */
			continue;
		}
		if (unlikely(iov[bi].len < hdr_len + pkt->pkt_len)) {
			if (mrg)
				break;
			VHU_STAT_ADD(vq->stats.drops, 1);
			continue;
		}
		vhu_net_rxhdr_buffers(&h, 1);
		*(uint32_t *)(void *)((char *)len0 + bi * stride) =
			vhu_net_pkt_to_iov(vq, &iov[bi], 1, h, pkt, fixup);
		bi++;
		*bytes += pkt->pkt_len;
		(*delivered)++;
	}
	*i = pi;
	*b = bi;
}

/* Dequeue's first pass: the gathered buffers vq->iov[0..k) into pkts[*out]
 * on; *used counts the buffers consumed, including one that broke the
 * queue (it goes back to the guest with the rest). */
static inline void vhu_net_drain_run(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
				     struct vhu_pkt **pkts, uint16_t k, uint16_t *used,
				     uint16_t *out, uint64_t *bytes) VHU_REQUIRES(vq->lock)
{
	const struct vhu_iov *iov = vq->iov;
	uint16_t u = *used, o = *out;

	while (u < k) {
		vhu_gather_ahead(iov, u, k, false, vq->hdr_len);
		int r = vhu_net_chain_to_pkt(vq, &iov[u], 1, iov[u].len, pkts[o], pool);
		u++;
		if (unlikely(r < 0))
			break;
		if (r == 0)
			continue;
		*bytes += pkts[o]->pkt_len;
		o++;
	}
	*used = u;
	*out = o;
}

#endif
