/* SPDX-License-Identifier: BSD-3-Clause */
#include "common/log.h"
#include "vq/inflight.h"
#include "vq/vq.h"

size_t vhu_inflight_stride(uint16_t queue_size)
{
	size_t split = sizeof(struct vhu_inflight_split) +
		       (size_t)queue_size * sizeof(struct vhu_inflight_split_desc);
	size_t packed = sizeof(struct vhu_inflight_packed) +
			(size_t)queue_size * sizeof(struct vhu_inflight_packed_desc);
	size_t s = split > packed ? split : packed;
	return (s + 63) & ~(size_t)63;
}

/* Whether descriptor id has a slot in the region: it was made for rings
 * of vq->inflight_room entries, and a frontend may use bigger ones
 * (asked for less, or resized a running ring). Such heads go untracked
 * rather than written past the region. */
static inline bool in_region(const struct vhu_vq *vq, uint16_t id)
{
	return id < vq->inflight_room;
}

void vhu_inflight_split_take(struct vhu_vq *vq, uint16_t head)
{
	struct vhu_inflight_split *r = vq->inflight;
	if (unlikely(!in_region(vq, head)))
		return;
	r->desc[head].counter = ++vq->inflight_counter;
	r->desc[head].inflight = 1;
}

void vhu_inflight_split_untake(struct vhu_vq *vq, uint16_t head)
{
	struct vhu_inflight_split *r = vq->inflight;
	if (likely(in_region(vq, head)))
		r->desc[head].inflight = 0;
}

void vhu_inflight_split_batch(struct vhu_vq *vq, uint16_t n)
{
	struct vhu_inflight_split *r = vq->inflight;
	for (uint16_t i = 0; i < n; i++) {
		uint16_t id = (uint16_t)vq->shadow[i].id;
		if (unlikely(!in_region(vq, id)))
			continue;
		r->desc[id].next = r->last_batch_head;
		r->last_batch_head = id;
	}
	/* The list must be in place before the guest can see the batch. */
	vhu_smp_wmb();
}

void vhu_inflight_split_done(struct vhu_vq *vq, uint16_t n)
{
	struct vhu_inflight_split *r = vq->inflight;
	for (uint16_t i = 0; i < n; i++)
		if (likely(in_region(vq, (uint16_t)vq->shadow[i].id)))
			r->desc[(uint16_t)vq->shadow[i].id].inflight = 0;
	vhu_smp_wmb();
	r->used_idx = vq->last_used_idx;
}

void vhu_inflight_packed_done(struct vhu_vq *vq)
{
	struct vhu_inflight_packed *r = vq->inflight;
	r->used_idx = r->old_used_idx = vq->last_used_idx;
	r->used_wrap_counter = r->old_used_wrap_counter = vq->used_wrap;
}

static void recover_split(struct vhu_vq *vq)
{
	struct vhu_inflight_split *r = vq->inflight;
	uint16_t ring_used = VHU_READ_ONCE(vq->used->idx);
	uint16_t batch = (uint16_t)(ring_used - r->used_idx), inuse = 0;
	uint64_t max_counter = 0;

	/* A batch published before the crash but not yet cleared. */
	for (uint16_t i = 0, id = r->last_batch_head; i < batch && id < vq->size; i++) {
		r->desc[id].inflight = 0;
		id = r->desc[id].next;
	}
	r->used_idx = ring_used;
	for (uint16_t i = 0; i < vq->size; i++) {
		if (r->desc[i].inflight)
			inuse++;
		if (r->desc[i].counter > max_counter)
			max_counter = r->desc[i].counter;
		r->desc[i].inflight = 0; /* marked again when taken again */
	}
	vq->inflight_counter = max_counter;
	if (vq->last_avail_idx != ring_used || inuse)
		VHU_INFO("%s: vring %u: resuming at used index %u (base was %u, %u "
			 "descriptors were in flight and are taken again)", vq->name,
			 vq->index, ring_used, vq->last_avail_idx, inuse);
	/* In-order completion: the in-flight heads are the avail entries
	 * right after the last used one. */
	vq->last_avail_idx = vq->last_used_idx = ring_used;
	vq->signalled_used_valid = false;
}

static void recover_packed(struct vhu_vq *vq)
{
	struct vhu_inflight_packed *r = vq->inflight;
	uint16_t pos = r->old_used_idx;
	bool wrap = r->old_used_wrap_counter;

	if (pos >= vq->size) {
		VHU_WARN("%s: vring %u: inflight used position %u out of range; ignored",
			 vq->name, vq->index, pos);
		return;
	}
	if (pos != vq->last_avail_idx || wrap != vq->avail_wrap)
		VHU_INFO("%s: vring %u: resuming at used position %u wrap %u (base was %u "
			 "wrap %u)", vq->name, vq->index, pos, wrap, vq->last_avail_idx,
			 vq->avail_wrap);
	vq->last_avail_idx = vq->last_used_idx = pos;
	vq->avail_wrap = vq->used_wrap = wrap;
}

void vhu_inflight_recover(struct vhu_vq *vq)
{
	bool packed = vhu_vq_packed(vq);

	if (!vq->inflight || !(packed ? (void *)vq->desc_packed : (void *)vq->used))
		return;
	/* Recovery walks vq->size entries of the region (and desc_num is
	 * the frontend's to write): a ring bigger than the region was made
	 * for goes untracked. */
	if (vq->size > vq->inflight_room) {
		VHU_WARN("%s: vring %u: %u entries, the inflight region has room for %u; "
			 "not tracked", vq->name, vq->index, vq->size,
			 vq->inflight_room);
		vq->inflight = NULL;
		return;
	}
	/* version 0: a fresh region, nothing to recover; claim it. */
	if (packed) {
		struct vhu_inflight_packed *r = vq->inflight;
		if (r->version == 1 && r->desc_num == vq->size) {
			recover_packed(vq);
		} else {
			r->version = 1;
			r->desc_num = vq->size;
			vhu_inflight_packed_done(vq);
		}
	} else {
		struct vhu_inflight_split *r = vq->inflight;
		if (r->version == 1 && r->desc_num == vq->size) {
			recover_split(vq);
		} else {
			r->version = 1;
			r->desc_num = vq->size;
			r->used_idx = vq->last_used_idx;
		}
	}
}
