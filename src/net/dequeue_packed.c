/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest transmit (packed ring) into packets, as dequeue_split.c: each
 * buffer (a chain, or one indirect table) is read once, copied into pool
 * segments, and handed back in one used write-back per burst.
 */
#include <string.h>
#include "backend/dev.h"
#include "common/log.h"
#include "net/net.h"
#include "vq/ahead.h"

uint16_t vhu_packed_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			    struct vhu_pkt **pkts, uint16_t n)
{
	struct vhu_packed_pos pos = { vq->last_avail_idx, vq->avail_wrap };
	uint16_t count = VHU_MIN(n, VHU_MAX_BURST);
	uint16_t used = 0, out = 0;
	uint64_t bytes = 0;
	struct vhu_packed_ahead ahead;

	/* Cheap look at the first descriptor before allocating anything. */
	if (count == 0 ||
	    !vhu_packed_desc_avail(VHU_LOAD_ACQ(vq->desc_packed[pos.idx].flags), pos.wrap))
		return 0;
	vhu_packed_ahead_start(vq, &ahead, count, false);
	while (count && vhu_pkt_alloc_bulk(pool, pkts, count) < 0)
		count = (uint16_t)VHU_MIN(vhu_pkt_pool_avail(pool), count - 1u);
	if (count == 0) {
		vq->stats.drops++;
		return 0;
	}

	while (used < count) {
		uint32_t niov, total;
		uint16_t id, ndesc;

		enum vhu_chain_err e = vhu_packed_chain(vq, &pos, false, vq->iov, &niov,
							VHU_MAX_IOV, &total, &id, &ndesc);
		if (e == VHU_CHAIN_NONE || unlikely(e == VHU_CHAIN_BAD))
			break;
		vhu_packed_ahead_step(vq, &ahead);
		vq->shadow_packed[used].id = id;
		vq->shadow_packed[used].ndesc = ndesc;
		vq->shadow_packed[used].len = 0;
		used++;
		if (unlikely(e == VHU_CHAIN_DROP)) {
			vq->stats.drops++;
			continue;
		}
		int r = vhu_net_chain_to_pkt(vq, niov, total, pkts[out], pool);
		if (unlikely(r < 0))
			break;
		if (r == 0)
			continue;
		bytes += pkts[out]->pkt_len;
		out++;
	}
	if (used) {
		vq->last_avail_idx = pos.idx;
		vq->avail_wrap = pos.wrap;
		vhu_packed_flush_used(vq, used, false);
		vhu_packed_notify(vq);
	}
	if (out < count)
		vhu_pkt_free_bulk(&pkts[out], count - out);
	vq->stats.packets += out;
	vq->stats.bytes += bytes;
	return out;
}
