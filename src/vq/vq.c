/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/virtio_config.h>
#include "common/log.h"
#include "vq/held.h"
#include "vq/vq.h"

struct vhu_vq *vhu_vq_new(uint16_t index, const char *name, const struct vhu_dirty_log *log)
{
	struct vhu_vq *vq = aligned_alloc(VHU_CACHE_LINE,
		(sizeof(*vq) + VHU_CACHE_LINE - 1) & ~(size_t)(VHU_CACHE_LINE - 1));
	if (!vq)
		return NULL;
	memset(vq, 0, sizeof(*vq));
	vhu_spin_init(&vq->lock);
	vq->name = name;
	vq->log = log;
	vq->index = index;
	vq->kickfd = vq->callfd = vq->errfd = -1;
	vq->size = 0;
	return vq;
}

void vhu_vq_free(struct vhu_vq *vq)
{
	if (vq)
		vhu_held_detach(vq->held);
	free(vq);
}

/* A ring structure: at a frontend VA, or with ACCESS_PLATFORM at an IOVA.
 * A miss is sent and noted in *missed; the ring waits for the update. */
static void *ring_hva(struct vhu_vq *vq, const struct vhu_memmap *m, uint64_t addr,
		      uint64_t len, uint8_t perm, bool *missed) VHU_REQUIRES(vq->lock)
{
	enum vhu_xlate why;
	uint64_t fail;

	if (!vq->iotlb)
		return vhu_qva_to_hva(m, addr, len);
	void *p = vhu_iotlb_span(vq->iotlb, m, addr, len, perm, &why, &fail);
	if (!p && why == VHU_XLATE_MISS) {
		vhu_vq_iotlb_ask(vq, fail, perm);
		*missed = true;
	}
	return p;
}

static uint64_t ring_gpa(const struct vhu_vq *vq, const struct vhu_memmap *m, uint64_t addr)
	VHU_REQUIRES(vq->lock)
{
	return vq->iotlb ? vhu_iotlb_to_gpa(vq->iotlb, m, addr) : vhu_qva_to_gpa(m, addr);
}

/* Why the rings are not usable: waiting for the IOTLB is no error. */
static void rings_missing(struct vhu_vq *vq, bool missed) VHU_REQUIRES(vq->lock)
{
	if (missed) {
		VHU_DBG("%s: vring %u: ring addresses (desc 0x%llx) wait for the IOTLB",
			vq->name, vq->index, (unsigned long long)vq->addr.desc_user_addr);
		return;
	}
	VHU_ERR("%s: vring %u: %sring addresses (desc 0x%llx %s 0x%llx %s 0x%llx, size %u) "
		"are not inside guest memory", vq->name, vq->index,
		vhu_vq_packed(vq) ? "packed " : "",
		(unsigned long long)vq->addr.desc_user_addr,
		vhu_vq_packed(vq) ? "driver" : "avail",
		(unsigned long long)vq->addr.avail_user_addr,
		vhu_vq_packed(vq) ? "device" : "used",
		(unsigned long long)vq->addr.used_user_addr, vq->size);
}

/* Packed layout: the descriptor ring (16 bytes an entry), then the driver
 * and device event suppression structures, 4 bytes each. */
static bool translate_packed(struct vhu_vq *vq, const struct vhu_memmap *m)
	VHU_REQUIRES(vq->lock)
{
	uint64_t n = vq->size;

	if (vq->last_avail_idx >= n || vq->last_used_idx >= n) {
		VHU_ERR("%s: vring %u: packed ring position %u/%u beyond size %u",
			vq->name, vq->index, vq->last_avail_idx, vq->last_used_idx,
			vq->size);
		return false;
	}
	bool missed = false;
	vq->desc_packed = ring_hva(vq, m, vq->addr.desc_user_addr,
				   n * sizeof(struct vring_packed_desc), VHOST_ACCESS_RW, &missed);
	vq->driver_event = ring_hva(vq, m, vq->addr.avail_user_addr,
				    sizeof(struct vring_packed_desc_event), VHOST_ACCESS_RO,
				    &missed);
	vq->device_event = ring_hva(vq, m, vq->addr.used_user_addr,
				    sizeof(struct vring_packed_desc_event), VHOST_ACCESS_WO,
				    &missed);
	if (!vq->desc_packed || !vq->driver_event || !vq->device_event) {
		rings_missing(vq, missed);
		vq->desc_packed = NULL;
		vq->driver_event = NULL;
		vq->device_event = NULL;
		return false;
	}
	/* Used descriptors are written into the descriptor ring. */
	vq->desc_gpa = ring_gpa(vq, m, vq->addr.desc_user_addr);
	vq->used_gpa = ring_gpa(vq, m, vq->addr.used_user_addr);
	return true;
}

bool vhu_vq_translate(struct vhu_vq *vq, const struct vhu_memmap *m)
{
	uint64_t n = vq->size;
	bool evidx = vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX);

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->desc_packed = NULL;
	vq->driver_event = NULL;
	vq->device_event = NULL;
	vq->mem = m;
	if (!m || !vq->addr_set || n == 0)
		return false;
	if (vhu_vq_packed(vq))
		return translate_packed(vq, m);
	/* Each whole ring structure must lie in one region: the hot path
	 * indexes them as plain arrays. */
	bool missed = false;
	vq->desc = ring_hva(vq, m, vq->addr.desc_user_addr, n * sizeof(struct vring_desc),
			    VHOST_ACCESS_RO, &missed);
	vq->avail = ring_hva(vq, m, vq->addr.avail_user_addr,
			     sizeof(struct vring_avail) + (n + evidx) * sizeof(uint16_t),
			     VHOST_ACCESS_RO, &missed);
	vq->used = ring_hva(vq, m, vq->addr.used_user_addr,
			    sizeof(struct vring_used) + n * sizeof(struct vring_used_elem) +
			    evidx * sizeof(uint16_t), VHOST_ACCESS_WO, &missed);
	if (!vq->desc || !vq->avail || !vq->used) {
		rings_missing(vq, missed);
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return false;
	}
	vq->used_gpa = ring_gpa(vq, m, vq->addr.used_user_addr);
	if (vq->addr.flags & (1u << VHOST_VRING_F_LOG)) {
		/* With ACCESS_PLATFORM QEMU gives the used ring's IOVA here
		 * (as DPDK reads it): translated like the ring itself; one
		 * the IOTLB does not hold leaves the ring's own. */
		uint64_t g = vq->iotlb ? ring_gpa(vq, m, vq->addr.log_guest_addr)
				       : vq->addr.log_guest_addr;
		if (g != UINT64_MAX)
			vq->used_gpa = g;
	}
	return true;
}

void vhu_vq_update_active(struct vhu_vq *vq)
{
	bool was = vq->active;

	bool rings = vhu_vq_packed(vq)
		? vq->desc_packed && vq->driver_event && vq->device_event
		: vq->desc && vq->avail && vq->used;

	vq->active = vq->started && vq->enabled && !vq->broken && rings;
	if (vq->active && !was)
		vhu_vq_apply_notify(vq);
}

void vhu_vq_break(struct vhu_vq *vq, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (!vq->broken)
		VHU_ERR("%s: vring %u broken: %s", vq->name, vq->index, buf);
	VHU_WRITE_ONCE(vq->broken, true);
	vq->active = false;
	VHU_STAT_ADD(vq->stats.errors, 1);
	if (vq->errfd >= 0) {
		uint64_t one = 1;
		/* Tell the frontend (SET_VRING_ERR); nothing to do if it fails. */
		if (write(vq->errfd, &one, sizeof(one)) < 0) {
		}
	}
}

void vhu_vq_apply_notify(struct vhu_vq *vq)
{
	if (vhu_vq_packed(vq)) {
		/* The device event structure: whether the guest kicks us. */
		if (!vq->device_event)
			return;
		VHU_WRITE_ONCE(vq->device_event->flags,
			       (uint16_t)(vq->guest_notify ? VRING_PACKED_EVENT_FLAG_ENABLE
							   : VRING_PACKED_EVENT_FLAG_DISABLE));
		vhu_smp_mb();
		return;
	}
	if (!vq->used || !vq->avail)
		return;
	if (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) {
		/* The guest kicks when it passes avail_event: keep it at our
		 * position when kicks are wanted, leave it behind otherwise. */
		if (vq->guest_notify)
			vhu_vq_set_avail_event(vq, vq->last_avail_idx);
	} else {
		VHU_WRITE_ONCE(vq->used->flags,
			       vq->guest_notify ? 0 : VRING_USED_F_NO_NOTIFY);
	}
	vhu_smp_mb();
}
