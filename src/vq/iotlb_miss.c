/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * IOTLB misses of a vring's buffers. A guest behind a vIOMMU maps each
 * buffer on its own (a new IOVA page for almost every receive buffer), so
 * a burst that meets one unknown buffer will meet the next ones too. An
 * application that does not retry an enqueue drops the packet each time;
 * asking for the next buffers along with the first means one round trip
 * to the frontend covers a run of them. Only a hint: nothing is taken and
 * every descriptor is read and checked again when a burst uses it.
 */
#include "common/log.h"
#include "vq/vq.h"

/* Buffers looked at past the one that missed. */
#define VHU_MISS_AHEAD 32

static void ask(struct vhu_vq *vq, uint64_t addr, uint32_t len, uint16_t flags)
	VHU_REQUIRES(vq->lock)
{
	enum vhu_xlate why;
	uint64_t l = len;
	bool w = flags & VRING_DESC_F_WRITE;

	if (flags & VRING_DESC_F_INDIRECT)
		w = false; /* the table itself: its buffers come when it is walked */
	if (len && !vhu_vq_piece(vq, addr, &l, w, &why) && why == VHU_XLATE_MISS)
		vhu_vq_iotlb_ask(vq, addr, vhu_vq_perm(w));
}

static void ahead_split(struct vhu_vq *vq) VHU_REQUIRES(vq->lock)
{
	uint16_t n = (uint16_t)(VHU_LOAD_ACQ(vq->avail->idx) - vq->last_avail_idx);

	if (n > vq->size)
		return; /* the guest's nonsense: the burst will say so */
	for (uint16_t i = 0; i < n && i < VHU_MISS_AHEAD; i++) {
		uint16_t head = VHU_READ_ONCE(vq->avail->ring[(uint16_t)(vq->last_avail_idx + i) &
							       (vq->size - 1)]);
		if (head >= vq->size)
			return;
		const struct vring_desc *d = &vq->desc[head];
		ask(vq, VHU_READ_ONCE(d->addr), VHU_READ_ONCE(d->len), VHU_READ_ONCE(d->flags));
	}
}

static void ahead_packed(struct vhu_vq *vq) VHU_REQUIRES(vq->lock)
{
	struct vhu_packed_pos p = { vq->last_avail_idx, vq->avail_wrap };

	for (uint16_t i = 0; i < VHU_MISS_AHEAD; i++) {
		const struct vring_packed_desc *d = &vq->desc_packed[p.idx];
		uint16_t flags = VHU_LOAD_ACQ(d->flags);
		if (!vhu_packed_desc_avail(flags, p.wrap))
			return;
		ask(vq, VHU_READ_ONCE(d->addr), VHU_READ_ONCE(d->len), flags);
		vhu_packed_pos_advance(vq, &p);
	}
}

/* Counted where the request goes out, not where the burst met the miss:
 * a burst retried while the answer is on its way meets the same page
 * again, which the channel does not send again (backend_chan.c), and a
 * count of those would grow with the polling rate, not with the misses. */
void vhu_vq_iotlb_ask(struct vhu_vq *vq, uint64_t iova, uint8_t perm)
{
	if (vhu_backend_chan_iotlb_miss(vq->chan, vq->name, iova, perm))
		VHU_STAT_ADD(vq->stats.iotlb_misses, 1);
}

void vhu_vq_iotlb_miss(struct vhu_vq *vq, uint64_t iova, uint8_t perm)
{
	VHU_DBG("%s: vring %u: IOTLB miss at 0x%llx (perm %u)", vq->name, vq->index,
		(unsigned long long)iova, perm);
	vhu_vq_iotlb_ask(vq, iova, perm);
	vhu_vq_iotlb_ahead(vq);
}

void vhu_vq_iotlb_ahead(struct vhu_vq *vq)
{
	if (!vq->iotlb)
		return;
	if (vhu_vq_packed(vq)) {
		if (vq->desc_packed)
			ahead_packed(vq);
	} else if (vq->desc && vq->avail) {
		ahead_split(vq);
	}
}
