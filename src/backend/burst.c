/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The public data-path entry points: from a device and a vring number to
 * the vring, then to the ring type's enqueue or dequeue in src/net/. Each
 * takes the vring's lock once for the burst (trylock: a vring being
 * reconfigured simply yields no packets) and checks the vring is active
 * before touching guest memory.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include "backend/dev.h"
#include "common/log.h"
#include "net/net.h"

static inline struct vhu_vq *burst_vq(struct vhu_dev *dev, uint16_t vring, int dir)
{
	if (unlikely(!dev || vring >= VHU_MAX_VRINGS || (vring & 1) != dir))
		return NULL;
	return __atomic_load_n(&dev->vq[vring], __ATOMIC_ACQUIRE);
}

VHU_EXPORT uint16_t vhu_enqueue_burst(struct vhu_dev *dev, uint16_t vring,
				      struct vhu_pkt *const *pkts, uint16_t n)
{
	struct vhu_vq *vq = burst_vq(dev, vring, 0);
	uint16_t done = 0;

	if (unlikely(!vq) || !vhu_spin_trylock(&vq->lock))
		return 0;
	if (likely(vq->active))
		done = vhu_vq_packed(vq) ? vhu_packed_enqueue(vq, pkts, n)
					 : vhu_split_enqueue(vq, pkts, n);
	vhu_spin_unlock(&vq->lock);
	return done;
}

/* SEND_RARP: after a migration the first packets out of the guest are a
 * RARP with its MAC so that switches relearn where it lives. */
static uint16_t inject_rarp(struct vhu_dev *dev, struct vhu_pkt_pool *pool,
			    struct vhu_pkt **pkts)
{
	int one = 1;
	if (!__atomic_compare_exchange_n(&dev->rarp_pending, &one, 0, false,
					 __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		return 0;
	pkts[0] = vhu_net_make_rarp(pool, dev->mac);
	if (!pkts[0]) {
		__atomic_store_n(&dev->rarp_pending, 1, __ATOMIC_RELEASE);
		return 0;
	}
	return 1;
}

VHU_EXPORT uint16_t vhu_dequeue_burst(struct vhu_dev *dev, uint16_t vring,
				      struct vhu_pkt_pool *pool, struct vhu_pkt **pkts,
				      uint16_t n)
{
	struct vhu_vq *vq = burst_vq(dev, vring, 1);
	uint16_t done = 0, rarp = 0;

	if (unlikely(!vq || !pool || n == 0) || !vhu_spin_trylock(&vq->lock))
		return 0;
	if (likely(vq->active)) {
		if (unlikely(__atomic_load_n(&dev->rarp_pending, __ATOMIC_RELAXED)))
			rarp = inject_rarp(dev, pool, pkts);
		/* Zero-copy is off while an inflight region tracks the ring
		 * (its recovery assumes each burst completes what it took) and
		 * behind a vIOMMU (a held buffer would outlive the invalidation
		 * of its IOVA). */
		if (vq->held && !vq->inflight && !vq->iotlb)
			done = vhu_zc_dequeue(vq, pool, pkts + rarp, (uint16_t)(n - rarp));
		else if (vhu_vq_packed(vq))
			done = vhu_packed_dequeue(vq, pool, pkts + rarp, (uint16_t)(n - rarp));
		else
			done = vhu_split_dequeue(vq, pool, pkts + rarp, (uint16_t)(n - rarp));
	}
	vhu_spin_unlock(&vq->lock);
	return (uint16_t)(done + rarp);
}

/* A split ring's count costs one load whatever max is, so it is whole
 * unless max cuts it; a packed ring's walk stops at max. */
static uint16_t avail_count(struct vhu_dev *dev, uint16_t vring, uint16_t max, bool whole)
{
	struct vhu_vq *vq = dev && vring < VHU_MAX_VRINGS ?
		__atomic_load_n(&dev->vq[vring], __ATOMIC_ACQUIRE) : NULL;
	uint16_t n = 0;

	if (!vq || !max || !vhu_spin_trylock(&vq->lock))
		return 0;
	if (vq->active && vhu_vq_packed(vq)) {
		n = vhu_packed_avail_count(vq, max);
	} else if (vq->active) {
		n = (uint16_t)(VHU_LOAD_ACQ(vq->avail->idx) - vq->last_avail_idx);
		if (n > vq->size)
			n = 0;
		if (!whole && n > max)
			n = max;
	}
	vhu_spin_unlock(&vq->lock);
	return n;
}

VHU_EXPORT uint16_t vhu_vring_avail_entries(struct vhu_dev *dev, uint16_t vring)
{
	return avail_count(dev, vring, VHU_MAX_BURST, true);
}

VHU_EXPORT uint16_t vhu_vring_avail_count(struct vhu_dev *dev, uint16_t vring, uint16_t max)
{
	return avail_count(dev, vring, max, false);
}

VHU_EXPORT int vhu_vring_enable_guest_notification(struct vhu_dev *dev, uint16_t vring,
						   int enable)
{
	struct vhu_vq *vq = dev && vring < VHU_MAX_VRINGS ?
		__atomic_load_n(&dev->vq[vring], __ATOMIC_ACQUIRE) : NULL;

	if (!vq)
		return -EINVAL;
	vhu_spin_lock(&vq->lock);
	vq->guest_notify = enable != 0;
	if (vq->active)
		vhu_vq_apply_notify(vq);
	vhu_spin_unlock(&vq->lock);
	return 0;
}

VHU_EXPORT int vhu_vring_get_kickfd(const struct vhu_dev *dev, uint16_t vring)
{
	const struct vhu_vq *vq = dev && vring < VHU_MAX_VRINGS ?
		__atomic_load_n(&dev->vq[vring], __ATOMIC_ACQUIRE) : NULL;
	if (!vq)
		return -EINVAL;
	int fd = __atomic_load_n(&vq->kickfd, __ATOMIC_RELAXED);
	return fd >= 0 ? fd : -ENOENT;
}

VHU_EXPORT void vhu_vring_drain_kick(struct vhu_dev *dev, uint16_t vring)
{
	int fd = vhu_vring_get_kickfd(dev, vring);
	eventfd_t v;
	if (fd >= 0)
		(void)eventfd_read(fd, &v); /* non-blocking fd: EAGAIN when none */
}
