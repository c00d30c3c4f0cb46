/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest transmit without the copy (VHU_DEQUEUE_ZERO_COPY), both ring
 * types: a packet's first segment is our own copy of its start (header
 * decisions read only that), a second segment points at the rest of the
 * guest's buffer, and the buffer goes back to the guest when the packet
 * is freed (vq/held.h). Small packets, buffers in more than two pieces
 * and bursts past the held bound are copied as dequeue_split.c does, and
 * a burst that holds nothing while nothing waits completes as it does.
 */
#include <string.h>
#include "common/log.h"
#include "net/net.h"
#include "pkt/ext.h"
#include "vq/gather.h"
#include "vq/held.h"

/* Below this many frame bytes a copy costs less than holding the buffer
 * (an extra segment, the window, a later write-back). */
#define ZC_MIN_LEN 512u

/* Bytes of the frame the first segment must hold: VHU_PKT_ZC_HEAD, and
 * whatever of the frame the offload asks the application to touch (the
 * checksum field it completes, the headers segmentation parses, as far
 * as a TCP header with options reaches). */
static uint32_t zc_head_len(const struct vhu_pkt_offload *ol)
{
	uint32_t need = VHU_PKT_ZC_HEAD;

	if (ol->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
		need = VHU_MAX(need, (uint32_t)ol->csum_start + ol->csum_offset + 2u);
	if (ol->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		need = VHU_MAX(VHU_MAX(need, (uint32_t)ol->hdr_len),
			       (uint32_t)ol->csum_start + 60u);
	return need;
}

/* One walked buffer into p: by reference when it pays and a second
 * segment e is left (the caller gives none past the held bound), else
 * copied; as vhu_net_chain_to_pkt (1, 0 dropped, -1 broken). *held says
 * which: the window hears of it once the burst is over. */
static int zc_to_pkt(struct vhu_vq *vq, struct vhu_held *h, uint64_t pos,
		     const struct vhu_iov *iov, uint32_t niov, uint32_t total,
		     struct vhu_pkt *p, struct vhu_pkt_pool *pool, struct vhu_pkt *e, bool *held)
	VHU_REQUIRES(vq->lock)
{
	const uint32_t hdr_len = vq->hdr_len;
	struct virtio_net_hdr_mrg_rxbuf hdr;
	uint32_t len, head, off, i = 0;

	*held = false;
	if (!e || niov > 2 || total < hdr_len + ZC_MIN_LEN)
		return vhu_net_chain_to_pkt(vq, iov, niov, total, p, pool);
	len = total - hdr_len;
	/* The header to a local once; only the local is parsed. */
	hdr.num_buffers = 0; /* not in a 10-byte header */
	if (likely(iov[0].len >= hdr_len))
		vhu_copy_hdr(&hdr, iov[0].base, hdr_len);
	else
		vhu_iov_to_buf(iov, niov, 0, &hdr, hdr_len);
	if (unlikely(!vhu_net_hdr_parse(&hdr, len, vq->features, &p->ol)))
		return vhu_net_bad_hdr(vq, &hdr, p, len);
	head = zc_head_len(&p->ol);
	off = hdr_len + head;
	while (i < niov && off >= iov[i].len)
		off -= iov[i++].len;
	/* The rest must be one piece (one external segment). */
	if (head >= len || head > vhu_pkt_tailroom(p) || i + 1 != niov)
		return vhu_net_chain_to_pkt_any(vq, iov, niov, total, p, pool);
	if (likely(i == 0))
		vhu_copy(vhu_pkt_data(p), iov[0].base + hdr_len, head);
	else
		vhu_iov_to_buf(iov, niov, hdr_len, vhu_pkt_data(p), head);
	p->data_len = head;
	p->pkt_len = len;
	vhu_pkt_ext_attach(e, iov[i].base + off, iov[i].len - off, vhu_held_release, h, pos);
	p->next = e;
	p->nb_segs = 2;
	*held = true;
	return 1;
}

/* The buffers the burst consumed go back: straight to the used ring as
 * a copying burst does when none is held and none waits, else through
 * the window (taken in order, the held ones marked). */
static void zc_complete(struct vhu_vq *vq, struct vhu_held *h, uint16_t used,
			const bool *held, uint16_t nheld) VHU_REQUIRES(vq->lock, h)
{
	const bool packed = vhu_vq_packed(vq);

	if (nheld == 0 && h->head == h->tail) {
		h->head = h->tail += used;
		if (packed) {
			vhu_packed_flush_used(vq, used, false);
			vhu_packed_notify(vq);
		} else {
			vhu_split_flush_used(vq, used);
			vhu_split_notify(vq);
		}
		return;
	}
	vhu_memmap_hold_n(vq->mem, nheld);
	for (uint16_t i = 0; i < used; i++) {
		uint64_t pos = packed ? vhu_held_take(h, vq->shadow_packed[i].id,
						      vq->shadow_packed[i].ndesc)
				      : vhu_held_take(h, (uint16_t)vq->shadow[i].id, 1);
		if (held[i])
			vhu_held_hold(h, pos, vq->mem);
	}
	vhu_held_publish(h, vq);
}

uint16_t vhu_zc_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			struct vhu_pkt **pkts, uint16_t n)
{
	struct vhu_held *h = vq->held;
	const bool packed = vhu_vq_packed(vq);
	const struct vhu_packed_pos start = { vq->last_avail_idx, vq->avail_wrap };
	struct vhu_packed_pos pos;
	struct vhu_pkt *ext[VHU_MAX_BURST];
	bool held[VHU_MAX_BURST];
	struct vhu_iov *iov = vq->iov;
	uint16_t count, used = 0, out = 0, next_ext = 0, n_ext = 0, ext_room = 0, k;
	uint64_t bytes = 0, base;

	vhu_held_lock(h);
	/* What frees since the last burst could not return. */
	vhu_held_publish(h, vq);
	/* Locals first: VHU_MIN evaluates an argument twice. */
	uint16_t room = vhu_held_room(h, vq);
	count = VHU_MIN(n, room);
	if (count && !packed) {
		uint16_t avail = vhu_split_avail_count(vq);
		count = VHU_MIN(count, avail);
	} else if (count && !vhu_packed_desc_avail(VHU_LOAD_ACQ(vq->desc_packed[start.idx].flags),
						    start.wrap)) {
		count = 0;
	}
	if (count == 0)
		goto out;
	while (count && vhu_pkt_alloc_bulk(pool, pkts, count) < 0)
		count = vhu_pkt_shrink(pool, count);
	if (count == 0) {
		VHU_STAT_ADD(vq->stats.drops, 1);
		goto out;
	}
	/* Second segments for the packets that can be held: none past the
	 * bound; taken at the burst's first buffer worth holding (a burst of
	 * small frames takes none). */
	if (!vhu_held_full(h, vq))
		ext_room = VHU_MIN(count, (uint16_t)(vq->size / 2u - h->held));
	/* Positions in the window: the burst's buffers take the next ones
	 * in order (zc_complete). */
	base = h->tail;
	/* The run of single-descriptor buffers first, as the copying
	 * dequeue does; then the general walk. */
	k = packed ? vhu_packed_gather(vq, false, iov, vq->shadow_packed, count)
		   : vhu_split_gather(vq, false, iov, vq->shadow, count);
	pos = vhu_packed_pos_add(vq, start, k);
	while (used < count && !vq->broken) {
		uint32_t niov = 1, total;
		const struct vhu_iov *bi = &iov[used];

		if (used < k) {
			vhu_gather_ahead(iov, used, k, false, vq->hdr_len);
			total = bi->len;
		} else {
			enum vhu_chain_err e;
			uint16_t id, ndesc = 1;
			/* The run is behind us: its pieces may be reused. */
			bi = iov;
			if (packed) {
				e = vhu_packed_chain(vq, &pos, false, iov, &niov, VHU_MAX_IOV,
						     &total, &id, &ndesc);
				if (e == VHU_CHAIN_NONE || unlikely(e == VHU_CHAIN_BAD))
					break;
				vq->shadow_packed[used] = (struct vhu_packed_used){ id, ndesc, 0 };
			} else {
				if (unlikely(!vhu_split_avail_head(vq, used, &id)))
					break;
				e = vhu_split_chain(vq, id, false, iov, &niov, VHU_MAX_IOV, &total);
				if (unlikely(e == VHU_CHAIN_BAD))
					break;
				vq->shadow[used] = (struct vring_used_elem){ id, 0 };
			}
			if (unlikely(e == VHU_CHAIN_DROP)) {
				held[used++] = false;
				VHU_STAT_ADD(vq->stats.drops, 1);
				continue;
			}
		}
		if (ext_room && total >= vq->hdr_len + ZC_MIN_LEN) {
			/* Once, for this buffer and the rest of the burst;
			 * fewer when the pool is short (those are copied). */
			n_ext = VHU_MIN(ext_room, (uint16_t)(count - used));
			ext_room = 0;
			while (n_ext && vhu_pkt_alloc_bulk(pool, ext, n_ext) < 0)
				n_ext = vhu_pkt_shrink(pool, n_ext);
		}
		struct vhu_pkt *x = next_ext < n_ext ? ext[next_ext] : NULL;
		int r = zc_to_pkt(vq, h, base + used, bi, niov, total, pkts[out], pool, x,
				  &held[used]);
		used++;
		if (unlikely(r < 0))
			break;
		if (r == 0)
			continue;
		next_ext += held[used - 1];
		bytes += pkts[out]->pkt_len;
		out++;
	}
	if (used) {
		if (packed) {
			if (used <= k)
				pos = vhu_packed_pos_add(vq, start, used);
			vq->last_avail_idx = pos.idx;
			vq->avail_wrap = pos.wrap;
		} else {
			vq->last_avail_idx += used;
		}
		zc_complete(vq, h, used, held, next_ext);
	}
	if (!packed && vq->guest_notify && (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))) {
		vhu_vq_set_avail_event(vq, vq->last_avail_idx);
		vhu_smp_mb(); /* as in dequeue_split.c */
	}
	if (out < count)
		vhu_pkt_free_bulk(&pkts[out], count - out);
	if (next_ext < n_ext)
		vhu_pkt_free_bulk(&ext[next_ext], n_ext - next_ext);
	VHU_STAT_ADD(vq->stats.packets, out);
	VHU_STAT_ADD(vq->stats.bytes, bytes);
out:
	vhu_held_unlock(h);
	return out;
}
