/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packets into the guest's receive ring (packed). As enqueue_split.c:
 * without MRG_RXBUF each packet takes one buffer, with it as many buffers
 * as its bytes need (num_buffers in the header). Used descriptors are
 * written back once per burst, one per buffer, which is also correct when
 * IN_ORDER is negotiated. The burst's single-descriptor buffers are read
 * first (vq/gather.h) and filled one packet each while packets fit
 * them; the general walk takes over from the first packet that does not
 * (several buffers under MRG_RXBUF) or the first buffer the run stopped at.
 */
#include <endian.h>
#include <string.h>
#include "common/log.h"
#include "net/net.h"
#include "net/run.h"
#include "vq/gather.h"

/* Reserves buffers from *pos until they hold `need` bytes. Fills vq->iov
 * from *niov on, shadow entries from *nused on. Returns 1 on success, 0
 * when the ring ran out, -1 when the queue broke. */
static int reserve_mrg(struct vhu_vq *vq, struct vhu_packed_pos *pos, uint32_t need,
		       uint32_t *niov, uint16_t *nused) VHU_REQUIRES(vq->lock)
{
	uint32_t have = 0;

	while (have < need) {
		uint32_t n, total;
		uint16_t id, ndesc;
		if (*nused == VHU_MAX_BURST)
			return 0;
		enum vhu_chain_err e = vhu_packed_chain(vq, pos, true, vq->iov + *niov, &n,
							VHU_MAX_IOV - *niov, &total, &id,
							&ndesc);
		if (unlikely(e == VHU_CHAIN_BAD))
			return -1;
		if (e == VHU_CHAIN_NONE || unlikely(e == VHU_CHAIN_DROP))
			return 0; /* out of buffers, or too many pieces: next burst */
		vq->shadow_packed[*nused].id = id;
		vq->shadow_packed[*nused].ndesc = ndesc;
		vq->shadow_packed[*nused].len = total; /* trimmed below */
		(*nused)++;
		*niov += n;
		have += total;
	}
	return 1;
}

uint16_t vhu_packed_enqueue(struct vhu_vq *vq, struct vhu_pkt *const *pkts, uint16_t n)
{
	bool mrg = vq->features & (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	const struct vhu_packed_pos start = { vq->last_avail_idx, vq->avail_wrap };
	struct vhu_packed_pos pos;
	uint16_t nused = 0, i = 0, k;
	uint64_t bytes = 0, delivered = 0;

	k = vhu_packed_gather(vq, true, vq->iov, vq->shadow_packed, VHU_MIN(n, VHU_MAX_BURST));
	vhu_net_fill_run(vq, pkts, n, &i, &nused, k, mrg, &bytes, &delivered,
			 &vq->shadow_packed[0].len, sizeof(vq->shadow_packed[0]));
	/* Past the buffers filled: any gathered beyond them stay available. */
	pos = vhu_packed_pos_add(vq, start, nused);
	/* The general walk, from the first packet or buffer the run did not
	 * take (usually none: nothing more was available). */
	for (; i < n; i++) {
		const struct vhu_pkt *pkt = pkts[i];
		struct vhu_net_rxhdr h;
		struct vhu_packed_pos save = pos;
		bool fixup;
		uint32_t need = vq->hdr_len + pkt->pkt_len, niov = 0;
		uint16_t first = nused;

		if (unlikely(!vhu_net_hdr_build(vq->features, pkt, &h, &fixup))) {
			VHU_STAT_ADD(vq->stats.drops, 1); /* GSO this guest cannot take */
			continue;
		}
		if (mrg) {
			int r = reserve_mrg(vq, &pos, need, &niov, &nused);
			if (r < 0)
				break;
			if (r == 0) {
				nused = first;
				pos = save;
				break;
			}
			vhu_net_rxhdr_buffers(&h, (uint16_t)(nused - first));
		} else {
			uint32_t total;
			uint16_t id, ndesc;
			if (nused == VHU_MAX_BURST)
				break;
			enum vhu_chain_err e = vhu_packed_chain(vq, &pos, true, vq->iov, &niov,
								VHU_MAX_IOV, &total, &id, &ndesc);
			if (e == VHU_CHAIN_NONE || unlikely(e == VHU_CHAIN_BAD))
				break;
			if (unlikely(e == VHU_CHAIN_DROP || total < need)) {
				/* The buffer can never take this packet: drop the
				 * packet, leave the buffer for the next one. */
				pos = save;
				VHU_STAT_ADD(vq->stats.drops, 1);
				continue;
			}
			vq->shadow_packed[nused].id = id;
			vq->shadow_packed[nused].ndesc = ndesc;
			nused++;
			vhu_net_rxhdr_buffers(&h, 1);
		}
		uint32_t written = vhu_net_pkt_to_iov(vq, vq->iov, niov, h, pkt, fixup);
		/* Each buffer reports what landed in it. */
		for (uint16_t u = first; u < nused; u++) {
			uint32_t cap = mrg ? vq->shadow_packed[u].len : written;
			uint32_t l = VHU_MIN(cap, written);
			vq->shadow_packed[u].len = l;
			written -= l;
		}
		bytes += pkt->pkt_len;
		delivered++;
	}
	if (nused) {
		vq->last_avail_idx = pos.idx;
		vq->avail_wrap = pos.wrap;
		vhu_packed_flush_used(vq, nused, true);
		vhu_packed_notify(vq);
	}
	VHU_STAT_ADD(vq->stats.packets, delivered);
	VHU_STAT_ADD(vq->stats.bytes, bytes);
	return i;
}
