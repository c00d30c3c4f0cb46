/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Warming the guest's buffers a few buffers ahead of the copies, for the
 * split-ring burst loops in src/net: a cursor that starts a fixed distance
 * in front of the walk and moves one step per packet (packed rings read
 * the burst's descriptors first instead: vq/packed_gather.h). Prefetching
 * a whole burst at once asks for more lines than the core can have in
 * flight (the prefetch instructions themselves stall, and the first lines
 * cool again before their copy). Only a hint: nothing read here is trusted or kept,
 * the walk reads and checks every descriptor again.
 */
#ifndef VHU_VQ_AHEAD_H
#define VHU_VQ_AHEAD_H

#include "vq/vq.h"

/* How many buffers the cursor runs in front of the walk. */
#define VHU_AHEAD 8

/* The first lines of the buffer a descriptor's addr and len point at. */
static inline void vhu_ahead_buf(const struct vhu_vq *vq, uint64_t addr, uint64_t len,
				 bool write) VHU_REQUIRES(vq->lock)
{
	const void *b = len ? vhu_gpa_piece(vq->mem, addr, &len) : NULL;
	if (b)
		vhu_prefetch_span(b, len, write);
}

/* Split rings: the cursor counts avail entries from last_avail_idx. */
struct vhu_split_ahead {
	uint16_t next, end; /* avail entries, counted from last_avail_idx */
	bool write;
};

static inline const struct vring_desc *vhu_split_ahead_desc(const struct vhu_vq *vq,
							     uint16_t n) VHU_REQUIRES(vq->lock)
{
	uint16_t mask = vq->size - 1;
	uint16_t slot = (uint16_t)(vq->last_avail_idx + n) & mask;
	return &vq->desc[VHU_READ_ONCE(vq->avail->ring[slot]) & mask];
}

static inline void vhu_split_ahead_step(const struct vhu_vq *vq, struct vhu_split_ahead *a)
	VHU_REQUIRES(vq->lock)
{
	if (a->next >= a->end)
		return;
	const struct vring_desc *d = vhu_split_ahead_desc(vq, a->next);
	vhu_ahead_buf(vq, VHU_READ_ONCE(d->addr), VHU_READ_ONCE(d->len), a->write);
	/* The descriptor the cursor reads next time round the window. */
	if (a->next + VHU_AHEAD < a->end)
		vhu_prefetch(vhu_split_ahead_desc(vq, (uint16_t)(a->next + VHU_AHEAD)));
	a->next++;
}

/* Starts the cursor for a burst of n avail entries (all known to be
 * there) and runs it VHU_AHEAD steps ahead. */
static inline void vhu_split_ahead_start(const struct vhu_vq *vq, struct vhu_split_ahead *a,
					 uint16_t n, bool write) VHU_REQUIRES(vq->lock)
{
	a->next = 0;
	a->end = n;
	a->write = write;
	for (uint16_t k = 0; k < VHU_AHEAD && k < n; k++)
		vhu_prefetch(vhu_split_ahead_desc(vq, k));
	for (unsigned k = 0; k < VHU_AHEAD; k++)
		vhu_split_ahead_step(vq, a);
}

#endif
