/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets into the guest's receive ring (split). Without MRG_RXBUF each
 * packet takes one descriptor chain; with it, as many heads as its bytes
 * need, the count going into the header's num_buffers. Used entries are
 * written back once per burst. As enqueue_packed.c: the single-descriptor
 * buffers are read first (vq/gather.h) and filled one packet each while
 * packets fit them; the general walk takes over from there.
 */
#include <endian.h>
#include <string.h>
#include <linux/virtio_config.h>
#include "common/log.h"
#include "net/net.h"
#include "net/run.h"
#include "vq/gather.h"
#include "vq/inflight.h"

/* Reserves heads from position `taken` until their buffers hold `need`
 * bytes. Fills vq->iov from `*niov` on, shadow entries from `*nused` on.
 * Returns 1 on success, 0 when the ring ran out, -1 when the queue broke. */
static int reserve_mrg(struct vhu_vq *vq, uint16_t avail, uint16_t *taken,
		       uint32_t need, uint32_t *niov, uint16_t *nused)
	VHU_REQUIRES(vq->lock)
{
	uint32_t have = 0;

	while (have < need) {
		uint16_t head;
		uint32_t n, total;
		if (*taken == avail || *nused == VHU_MAX_BURST)
			return 0;
		if (unlikely(!vhu_split_avail_head(vq, *taken, &head)))
			return -1;
		enum vhu_chain_err e = vhu_split_chain(vq, head, true, vq->iov + *niov, &n,
						       VHU_MAX_IOV - *niov, &total);
		if (unlikely(e == VHU_CHAIN_BAD))
			return -1;
		if (unlikely(e == VHU_CHAIN_NONE)) { /* IOTLB miss: next burst */
			if (unlikely(vq->inflight))
				vhu_inflight_split_untake(vq, head);
			return 0;
		}
		if (unlikely(e == VHU_CHAIN_DROP))
			return 0; /* too many pieces for one packet: try next burst */
		vq->shadow[*nused].id = head;
		vq->shadow[*nused].len = total; /* trimmed to bytes written below */
		(*nused)++;
		(*taken)++;
		*niov += n;
		have += total;
	}
	return 1;
}

uint16_t vhu_split_enqueue(struct vhu_vq *vq, struct vhu_pkt *const *pkts, uint16_t n)
{
	bool mrg = vq->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	uint16_t avail = vhu_split_avail_count(vq);
	uint16_t taken = 0, nused = 0, i = 0, k;
	uint64_t bytes = 0, delivered = 0;

	if (avail == 0)
		return 0;
	/* The inflight region records each head as it is taken (in
	 * vhu_split_avail_head): with one, the general walk does it all. */
	k = likely(!vq->inflight) ? vhu_split_gather(vq, true, vq->iov, vq->shadow,
						     VHU_MIN(VHU_MIN(avail, n), VHU_MAX_BURST))
				  : 0;
	vhu_net_fill_run(vq, pkts, n, &i, &nused, k, mrg, &bytes, &delivered,
			 &vq->shadow[0].len, sizeof(vq->shadow[0]));
	taken = nused;
	/* The general walk, from the first packet or buffer the run did not
	 * take (usually none: nothing more was available). */
	for (; i < n; i++) {
		const struct vhu_pkt *pkt = pkts[i];
		struct vhu_net_rxhdr h;
		bool fixup;
		uint32_t need = vq->hdr_len + pkt->pkt_len, niov = 0;
		uint16_t first = nused, save_taken = taken;

		if (unlikely(!vhu_net_hdr_build(vq->features, pkt, &h, &fixup))) {
			VHU_STAT_ADD(vq->stats.drops, 1); /* GSO this guest cannot take */
			continue;
		}
		if (mrg) {
			int r = reserve_mrg(vq, avail, &taken, need, &niov, &nused);
			if (r <= 0) {
				/* Out of buffers or broken: this packet's partial
				 * reservation must not reach the used ring. */
				if (unlikely(vq->inflight))
					for (uint16_t u = first; u < nused; u++)
						vhu_inflight_split_untake(vq, (uint16_t)vq->shadow[u].id);
				nused = first;
				taken = save_taken;
				break;
			}
			vhu_net_rxhdr_buffers(&h, (uint16_t)(nused - first));
		} else {
			uint16_t head;
			uint32_t total;
			if (taken == avail || nused == VHU_MAX_BURST)
				break;
			if (unlikely(!vhu_split_avail_head(vq, taken, &head)))
				break;
			enum vhu_chain_err e = vhu_split_chain(vq, head, true, vq->iov, &niov,
							       VHU_MAX_IOV, &total);
			if (unlikely(e == VHU_CHAIN_BAD))
				break;
			if (unlikely(e == VHU_CHAIN_NONE)) { /* IOTLB miss: next burst */
				if (unlikely(vq->inflight))
					vhu_inflight_split_untake(vq, head);
				break;
			}
			if (unlikely(e == VHU_CHAIN_DROP || total < need)) {
				/* Buffer can never take this packet: drop the packet,
				 * leave the buffer for the next one. */
				VHU_STAT_ADD(vq->stats.drops, 1);
				continue;
			}
			vq->shadow[nused].id = head;
			nused++;
			taken++;
			vhu_net_rxhdr_buffers(&h, 1);
		}
		uint32_t written = vhu_net_pkt_to_iov(vq, vq->iov, niov, h, pkt, fixup);
		/* Each head reports what landed in its own buffers. */
		for (uint16_t u = first; u < nused; u++) {
			uint32_t cap = mrg ? vq->shadow[u].len : written;
			uint32_t l = VHU_MIN(cap, written);
			vq->shadow[u].len = l;
			written -= l;
		}
		bytes += pkt->pkt_len;
		delivered++;
	}
	vq->last_avail_idx += taken;
	vhu_split_flush_used(vq, nused);
	if (unlikely(vq->guest_notify) && (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))) {
		/* As on transmit: kicks follow our position (see dequeue_split.c). */
		vhu_vq_set_avail_event(vq, vq->last_avail_idx);
		vhu_smp_mb();
	}
	if (nused)
		vhu_split_notify(vq);
	VHU_STAT_ADD(vq->stats.packets, delivered);
	VHU_STAT_ADD(vq->stats.bytes, bytes);
	return i;
}
