/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest transmit (packed ring) into packets, as dequeue_split.c: each
 * buffer (a chain, or one indirect table) is read once, copied into pool
 * segments, and handed back in one used write-back per burst. The burst's
 * single-descriptor buffers are read first (vq/gather.h); whatever
 * follows them goes through the general walk.
 */
#include <string.h>
#include "common/log.h"
#include "net/net.h"
#include "net/run.h"
#include "vq/gather.h"

uint16_t vhu_packed_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			    struct vhu_pkt **pkts, uint16_t n)
{
	const struct vhu_packed_pos start = { vq->last_avail_idx, vq->avail_wrap };
	struct vhu_packed_pos pos;
	struct vhu_iov *iov = vq->iov;
	uint16_t count = VHU_MIN(n, VHU_MAX_BURST);
	uint16_t used = 0, out = 0, k;
	uint64_t bytes = 0;

	/* Cheap look at the first descriptor before allocating anything. */
	if (count == 0 ||
	    !vhu_packed_desc_avail(VHU_LOAD_ACQ(vq->desc_packed[start.idx].flags), start.wrap))
		return 0;
	while (count && vhu_pkt_alloc_bulk(pool, pkts, count) < 0)
		count = vhu_pkt_shrink(pool, count);
	if (count == 0) {
		VHU_STAT_ADD(vq->stats.drops, 1);
		return 0;
	}

	k = vhu_packed_gather(vq, false, iov, vq->shadow_packed, count);
	vhu_net_drain_run(vq, pool, pkts, k, &used, &out, &bytes);
	pos = vhu_packed_pos_add(vq, start, used);
	/* Whatever the run stopped at: a chain, an indirect table, a bad
	 * descriptor, or nothing more. */
	while (used < count && !vq->broken) {
		uint32_t niov, total;
		uint16_t id, ndesc;

		enum vhu_chain_err e = vhu_packed_chain(vq, &pos, false, iov, &niov,
							VHU_MAX_IOV, &total, &id, &ndesc);
		if (e == VHU_CHAIN_NONE || unlikely(e == VHU_CHAIN_BAD))
			break;
		vq->shadow_packed[used].id = id;
		vq->shadow_packed[used].ndesc = ndesc;
		vq->shadow_packed[used].len = 0;
		used++;
		if (unlikely(e == VHU_CHAIN_DROP)) {
			VHU_STAT_ADD(vq->stats.drops, 1);
			continue;
		}
		int r = vhu_net_chain_to_pkt(vq, iov, niov, total, pkts[out], pool);
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
	VHU_STAT_ADD(vq->stats.packets, out);
	VHU_STAT_ADD(vq->stats.bytes, bytes);
	return out;
}
