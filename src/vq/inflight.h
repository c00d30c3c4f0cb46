/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Inflight I/O tracking (vhost-user INFLIGHT_SHMFD): a memfd the backend
 * creates (GET_INFLIGHT_FD), the frontend keeps across backend restarts
 * and hands back (SET_INFLIGHT_FD). Layout per the vhost-user spec,
 * "Inflight I/O tracking"; one region per vring, each `stride` bytes.
 *
 * libvhu completes descriptors in the order it takes them and always
 * within the burst that took them, so after a restart everything in
 * flight is exactly the avail entries after the last used one: recovery
 * resumes there (split: the used index in guest memory; packed: the used
 * position kept in the region, which the ring itself cannot tell).
 */
#ifndef VHU_VQ_INFLIGHT_H
#define VHU_VQ_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

struct vhu_inflight_split_desc {
	uint8_t inflight;
	uint8_t padding[5];
	uint16_t next;
	uint64_t counter;
};

struct vhu_inflight_split {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t last_batch_head;
	uint16_t used_idx;
	struct vhu_inflight_split_desc desc[];
};

struct vhu_inflight_packed_desc {
	uint8_t inflight;
	uint8_t padding;
	uint16_t next;
	uint16_t last;
	uint16_t num;
	uint64_t counter;
	uint16_t id;
	uint16_t flags;
	uint32_t len;
	uint64_t addr;
};

struct vhu_inflight_packed {
	uint64_t features;
	uint16_t version;
	uint16_t desc_num;
	uint16_t free_head;
	uint16_t old_free_head;
	uint16_t used_idx;
	uint16_t old_used_idx;
	uint8_t used_wrap_counter;
	uint8_t old_used_wrap_counter;
	uint8_t padding[7];
	struct vhu_inflight_packed_desc desc[];
};

/* Bytes per vring region for a ring of queue_size entries: room for
 * either layout, so the region works whichever ring type is negotiated
 * later. */
size_t vhu_inflight_stride(uint16_t queue_size);

struct vhu_vq;
/* Data path (vring lock held). */
void vhu_inflight_split_take(struct vhu_vq *vq, uint16_t head);
void vhu_inflight_split_untake(struct vhu_vq *vq, uint16_t head);
/* Before the used index is published: link the batch. */
void vhu_inflight_split_batch(struct vhu_vq *vq, uint16_t n);
/* After it is published: the batch is no longer in flight. */
void vhu_inflight_split_done(struct vhu_vq *vq, uint16_t n);
void vhu_inflight_packed_done(struct vhu_vq *vq);
/* Control path, at ring start (vring lock held). */
void vhu_inflight_recover(struct vhu_vq *vq);

#endif
