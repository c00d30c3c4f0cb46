/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * VHOST_USER_IOTLB_MSG: the frontend's vIOMMU updating or invalidating our
 * IOTLB (mem/iotlb.h). The row runs this with every vring locked, so a
 * burst sees the cache before or after the change, never during it, and
 * an invalidated range is out of every burst's reach before the frontend
 * gets its ack. Shape and rights were checked with the row (msg_table.c).
 */
#include <errno.h>
#include "backend/msg.h"
#include "common/log.h"

/* The whole of [qva, qva+size) is guest memory. */
static bool qva_mapped(const struct vhu_memmap *m, uint64_t qva, uint64_t size)
{
	while (size) {
		uint64_t l = size;
		if (!vhu_qva_piece(m, qva, &l))
			return false;
		qva += l;
		size -= l;
	}
	return true;
}

/* The loop is beyond the analysis: every vring is held (vrings_locked). */
void vhu_dev_iotlb_retranslate(struct vhu_dev *dev) VHU_NO_TSA
{
	for (int i = 0; i < VHU_MAX_VRINGS; i++) {
		struct vhu_vq *vq = dev->vq[i];
		if (!vq || !vq->addr_set || !vq->iotlb)
			continue;
		vhu_vq_translate(vq, dev->mem);
		vhu_vq_update_active(vq);
		if (vq->active)
			vhu_vq_iotlb_ahead(vq);
	}
}

int vhu_h_iotlb_msg(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl, dev->vrings_locked)
{
	const struct vhost_iotlb_msg *t = &msg->p.iotlb;

	if (!dev->iotlb)
		return -EINVAL; /* made at SET_FEATURES with ACCESS_PLATFORM */
	if (t->type == VHOST_IOTLB_INVALIDATE) {
		uint32_t n = vhu_iotlb_remove(dev->iotlb, t->iova, t->size);
		VHU_DBG("%s: IOTLB invalidate iova 0x%llx size 0x%llx: %u entries", dev->name,
			(unsigned long long)t->iova, (unsigned long long)t->size, n);
		if (n)
			vhu_dev_iotlb_retranslate(dev);
		return 0;
	}
	if (!dev->mem || !qva_mapped(dev->mem, t->uaddr, t->size)) {
		VHU_ERR("%s: IOTLB update iova 0x%llx size 0x%llx -> uaddr 0x%llx is not "
			"inside the memory table: refused", dev->name,
			(unsigned long long)t->iova, (unsigned long long)t->size,
			(unsigned long long)t->uaddr);
		return -EINVAL;
	}
	uint64_t evicted = dev->iotlb->evictions;
	vhu_iotlb_insert(dev->iotlb, t->iova, t->size, t->uaddr, t->perm);
	if (dev->iotlb->evictions != evicted && (dev->iotlb->evictions & 1023) == 1)
		VHU_WARN("%s: IOTLB full (%u entries): evicting (%llu so far)", dev->name,
			 VHU_IOTLB_MAX_ENTRIES, (unsigned long long)dev->iotlb->evictions);
	VHU_DBG("%s: IOTLB update iova 0x%llx size 0x%llx -> 0x%llx perm %u", dev->name,
		(unsigned long long)t->iova, (unsigned long long)t->size,
		(unsigned long long)t->uaddr, t->perm);
	vhu_backend_chan_misses_answered(&dev->backend, t->iova, t->size);
	vhu_dev_iotlb_retranslate(dev);
	return 0;
}
