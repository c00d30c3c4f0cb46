/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest transmit (split ring) into packets: the guest's buffers are read
 * once, copied into pool segments, and their heads completed in one used
 * ring write-back per burst. The burst's single-descriptor buffers are
 * read first (vq/gather.h); whatever follows them goes through the
 * general walk.
 */
#include <string.h>
#include "common/log.h"
#include "net/net.h"
#include "net/run.h"
#include "vq/gather.h"
#include "vq/inflight.h"

uint16_t vhu_split_dequeue(struct vhu_vq *vq, struct vhu_pkt_pool *pool,
			   struct vhu_pkt **pkts, uint16_t n)
{
	uint16_t avail = vhu_split_avail_count(vq);
	uint16_t count = VHU_MIN(VHU_MIN(avail, n), VHU_MAX_BURST);
	struct vhu_iov *iov = vq->iov;
	uint16_t used = 0, out = 0, k;
	uint64_t bytes = 0;

	if (count == 0)
		return 0;
	/* One lock round-trip on the pool for the whole burst; shrink the
	 * burst when the pool is short rather than fail it outright. */
	while (count && vhu_pkt_alloc_bulk(pool, pkts, count) < 0)
		count = vhu_pkt_shrink(pool, count);
	if (count == 0) {
		VHU_STAT_ADD(vq->stats.drops, 1);
		return 0;
	}

	/* The inflight region records each head as it is taken (in
	 * vhu_split_avail_head): with one, the general walk does it all. */
	k = likely(!vq->inflight) ? vhu_split_gather(vq, false, iov, vq->shadow, count) : 0;
	vhu_net_drain_run(vq, pool, pkts, k, &used, &out, &bytes);
	/* Whatever the run stopped at: a chain, an indirect table, a bad
	 * entry, or nothing more. */
	for (uint16_t i = used; i < count && !vq->broken; i++) {
		uint32_t niov, total;
		uint16_t head;

		if (unlikely(!vhu_split_avail_head(vq, i, &head)))
			break;
		enum vhu_chain_err e = vhu_split_chain(vq, head, false, iov, &niov,
						       VHU_MAX_IOV, &total);
		if (unlikely(e == VHU_CHAIN_BAD))
			break;
		if (unlikely(e == VHU_CHAIN_NONE)) { /* IOTLB miss: next burst */
			if (unlikely(vq->inflight))
				vhu_inflight_split_untake(vq, head);
			break;
		}
		vq->shadow[used].id = head;
		vq->shadow[used].len = 0;
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
	vq->last_avail_idx += used;
	vhu_split_flush_used(vq, used);
	if (vq->guest_notify && (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX))) {
		vhu_vq_set_avail_event(vq, vq->last_avail_idx);
		/* Store-load: the new avail_event must be visible before the
		 * application's next look at avail->idx, or the guest may skip
		 * the kick the application then sleeps waiting for. */
		vhu_smp_mb();
	}
	if (used)
		vhu_split_notify(vq);
	if (out < count)
		vhu_pkt_free_bulk(&pkts[out], count - out);
	VHU_STAT_ADD(vq->stats.packets, out);
	VHU_STAT_ADD(vq->stats.bytes, bytes);
	return out;
}
