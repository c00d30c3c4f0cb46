/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Copies between packets and guest buffers (iov pieces), shared by the
 * split and packed paths: the ring layouts differ, the bytes do not.
 */
#include <string.h>
#include "common/log.h"
#include "net/net.h"
#include "pkt/csum.h"

uint32_t vhu_net_pkt_to_iov_any(struct vhu_vq *vq, const struct vhu_iov *iov, uint32_t niov,
				struct vhu_net_rxhdr h, const struct vhu_pkt *pkt, bool csum_fixup)
{
	const uint32_t hdr_len = vq->hdr_len;
	const struct vhu_pkt *x = pkt->next;

	/* A zero-copy packet (pkt/ext.h: our copy of the frame's start, then
	 * the sender's buffer) into one receive buffer: as the inline case,
	 * two copies; the header stored where it differs. */
	if (likely(x && !x->next && niov && !csum_fixup && !vhu_vq_logging(vq) &&
		   iov[0].len >= hdr_len + pkt->data_len + x->data_len)) {
		uint8_t *d = iov[0].base + hdr_len;
		vhu_net_put_hdr(iov[0].base, h, hdr_len);
		vhu_copy(d, vhu_pkt_data(pkt), pkt->data_len);
		vhu_copy(d + pkt->data_len, vhu_pkt_data(x), x->data_len);
		return hdr_len + pkt->data_len + x->data_len;
	}
	uint8_t hb[sizeof(struct virtio_net_hdr_mrg_rxbuf)];
	vhu_net_rxhdr_store(hb, h, hdr_len);
	uint32_t off = vhu_buf_to_iov(iov, niov, 0, hb, hdr_len);
	for (const struct vhu_pkt *s = pkt; s; s = s->next)
		off += vhu_buf_to_iov(iov, niov, off, vhu_pkt_data(s), s->data_len);
	if (csum_fixup) {
		/* Into the guest's copy: the packet is the caller's, const. */
		uint16_t c = vhu_csum_partial(pkt);
		uint8_t be[2] = { (uint8_t)(c >> 8), (uint8_t)c };
		vhu_buf_to_iov(iov, niov,
			       hdr_len + pkt->ol.csum_start + pkt->ol.csum_offset, be, 2);
	}
	if (unlikely(vhu_vq_logging(vq))) {
		uint32_t left = off;
		for (uint32_t i = 0; i < niov && left; i++) {
			uint32_t l = VHU_MIN(left, iov[i].len);
			vhu_vq_log_buf(vq, iov[i].gpa, l);
			left -= l;
		}
	}
	return off;
}

/* Copies the chain's bytes after the header into pkt, chaining extra
 * segments from pool when one is not enough. False: pool exhausted. */
bool vhu_net_iov_to_pkt(const struct vhu_iov *iov, uint32_t niov, uint32_t off,
			 uint32_t len, struct vhu_pkt *pkt, struct vhu_pkt_pool *pool)
{
	struct vhu_pkt *seg = pkt;
	uint32_t room = vhu_pkt_tailroom(seg), i = 0;

	pkt->pkt_len = len;
	while (i < niov && off >= iov[i].len)
		off -= iov[i++].len;
	while (len) {
		if (room == 0) {
			struct vhu_pkt *n = vhu_pkt_alloc(pool);
			if (unlikely(!n))
				return false;
			seg->next = n;
			seg = n;
			pkt->nb_segs++;
			room = vhu_pkt_tailroom(seg);
		}
		uint32_t n = VHU_MIN(VHU_MIN(iov[i].len - off, len), room);
		memcpy(vhu_pkt_data(seg) + seg->data_len, iov[i].base + off, n);
		seg->data_len += n;
		room -= n;
		len -= n;
		off += n;
		if (off == iov[i].len) {
			off = 0;
			i++;
		}
	}
	return true;
}

int vhu_net_bad_hdr(struct vhu_vq *vq, const struct virtio_net_hdr_mrg_rxbuf *h,
		    const struct vhu_pkt *p, uint32_t len)
{
	VHU_STAT_ADD(vq->stats.errors, 1);
	VHU_STAT_ADD(vq->stats.drops, 1);
	/* Once per vring at WARN: a guest repeating it must not flood. */
	if (!vq->hdr_warned) {
		vq->hdr_warned = true;
		VHU_WARN("%s: vring %u: dropped packet with bad offload header "
			 "(flags 0x%x gso %u csum_start %u csum_offset %u gso_size %u, "
			 "%u bytes); further ones are counted in errors",
			 vq->name, vq->index, h->hdr.flags, h->hdr.gso_type,
			 p->ol.csum_start, p->ol.csum_offset, p->ol.gso_size, len);
	} else {
		VHU_DBG("%s: vring %u: dropped packet with bad offload header",
			vq->name, vq->index);
	}
	return 0;
}

int vhu_net_chain_to_pkt_any(struct vhu_vq *vq, const struct vhu_iov *iov, uint32_t niov,
			     uint32_t total, struct vhu_pkt *p, struct vhu_pkt_pool *pool)
{
	struct virtio_net_hdr_mrg_rxbuf h;
	uint32_t len;

	if (unlikely(total < vq->hdr_len)) {
		vhu_vq_break(vq, "transmit chain of %u bytes is shorter than the "
			     "%u-byte virtio-net header", total, vq->hdr_len);
		return -1;
	}
	memset(&h, 0, sizeof(h));
	len = total - vq->hdr_len;
	/* The header is copied to a local first and only the local is parsed. */
	vhu_iov_to_buf(iov, niov, 0, &h, vq->hdr_len);
	if (unlikely(!vhu_net_hdr_parse(&h, len, vq->features, &p->ol)))
		return vhu_net_bad_hdr(vq, &h, p, len);
	if (unlikely(!vhu_net_iov_to_pkt(iov, niov, vq->hdr_len, len, p, pool))) {
		/* Give back the extra segments; keep the head for reuse. */
		vhu_pkt_free(p->next);
		p->next = NULL;
		p->nb_segs = 1;
		p->data_len = p->pkt_len = 0;
		VHU_STAT_ADD(vq->stats.drops, 1);
		return 0;
	}
	return 1;
}
