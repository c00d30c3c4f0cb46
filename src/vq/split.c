/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split-ring walking for the device side. Everything read from the ring is
 * guest-controlled: each descriptor is loaded field by field exactly once
 * into a local and only the local is checked and used, so a guest that
 * rewrites a descriptor while we walk it cannot make us see two values.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <linux/virtio_config.h>
#include "common/log.h"
#include "vq/inflight.h"
#include "vq/vq.h"

static inline void desc_load(const struct vring_desc *src, struct vring_desc *d)
{
	if (unlikely((uintptr_t)src & 7)) {
		vhu_copy_once_unaligned(d, src, sizeof(*d));
		return;
	}
	d->addr = VHU_READ_ONCE(src->addr);
	d->len = VHU_READ_ONCE(src->len);
	d->flags = VHU_READ_ONCE(src->flags);
	d->next = VHU_READ_ONCE(src->next);
}

enum vhu_chain_err vhu_split_chain_full(struct vhu_vq *vq, uint16_t head, bool writable,
					struct vhu_iov *iov, uint32_t *niov,
					uint32_t max_iov, uint32_t *total)
{
	const struct vring_desc *table = vq->desc;
	uint32_t table_size = vq->size;
	uint32_t idx = head, hops = 0, n = 0;
	uint64_t bytes = 0;
	bool indirect = false, too_long = false;
	struct vring_desc d;

	for (;;) {
		if (unlikely(idx >= table_size)) {
			vhu_vq_break(vq, "descriptor index %u out of range (%s table of %u)",
				     idx, indirect ? "indirect" : "ring", table_size);
			return VHU_CHAIN_BAD;
		}
		if (unlikely(++hops > table_size)) {
			vhu_vq_break(vq, "descriptor chain from head %u loops or is longer "
				     "than its table (%u)", head, table_size);
			return VHU_CHAIN_BAD;
		}
		desc_load(&table[idx], &d);
		if (d.flags & VRING_DESC_F_INDIRECT) {
			if (unlikely(indirect)) {
				vhu_vq_break(vq, "indirect descriptor inside an indirect table (head %u)", head);
				return VHU_CHAIN_BAD;
			}
			if (unlikely(!(vq->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))) {
				vhu_vq_break(vq, "indirect descriptor used but not negotiated");
				return VHU_CHAIN_BAD;
			}
			if (unlikely(d.flags & VRING_DESC_F_NEXT)) {
				vhu_vq_break(vq, "descriptor %u has both INDIRECT and NEXT", idx);
				return VHU_CHAIN_BAD;
			}
			if (unlikely(d.len == 0 || d.len % sizeof(struct vring_desc) ||
				     d.len / sizeof(struct vring_desc) > VHU_MAX_RING_SIZE)) {
				vhu_vq_break(vq, "indirect table length %u invalid (a non-zero "
					     "multiple of 16, at most %u entries)", d.len,
					     VHU_MAX_RING_SIZE);
				return VHU_CHAIN_BAD;
			}
			enum vhu_xlate why;
			uint64_t fail;
			table = vhu_vq_span(vq, d.addr, d.len, VHOST_ACCESS_RO, &why, &fail);
			if (unlikely(!table && why == VHU_XLATE_MISS)) {
				vhu_vq_iotlb_miss(vq, fail, VHOST_ACCESS_RO);
				return VHU_CHAIN_NONE;
			}
			if (unlikely(!table)) {
				vhu_vq_break(vq, "indirect table at 0x%llx len %u not inside one "
					     "guest memory region", (unsigned long long)d.addr, d.len);
				return VHU_CHAIN_BAD;
			}
			table_size = d.len / sizeof(struct vring_desc);
			idx = 0;
			hops = 0;
			indirect = true;
			continue;
		}
		if (unlikely(!!(d.flags & VRING_DESC_F_WRITE) != writable)) {
			vhu_vq_break(vq, "%s descriptor in a %s chain (head %u)",
				     writable ? "read-only" : "device-writable",
				     writable ? "receive" : "transmit", head);
			return VHU_CHAIN_BAD;
		}
		if (d.len) {
			uint64_t gpa = d.addr, left = d.len, end;
			if (unlikely(__builtin_add_overflow(gpa, left, &end))) {
				vhu_vq_break(vq, "buffer address 0x%llx + length %u overflows",
					     (unsigned long long)gpa, d.len);
				return VHU_CHAIN_BAD;
			}
			while (left) {
				uint64_t l = left;
				enum vhu_xlate why;
				uint8_t *p = vhu_vq_piece(vq, gpa, &l, writable, &why);
				if (unlikely(!p && why == VHU_XLATE_MISS)) {
					vhu_vq_iotlb_miss(vq, gpa, vhu_vq_perm(writable));
					return VHU_CHAIN_NONE;
				}
				if (unlikely(!p)) {
					vhu_vq_break(vq, "buffer 0x%llx len %u (head %u) is outside "
						     "guest memory", (unsigned long long)d.addr,
						     d.len, head);
					return VHU_CHAIN_BAD;
				}
				if (unlikely(n == max_iov)) {
					too_long = true; /* keep walking: the chain may still be bad */
				} else {
					iov[n].base = p;
					iov[n].len = (uint32_t)l;
					iov[n].gpa = gpa;
					n++;
				}
				gpa += l;
				left -= l;
			}
			bytes += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		idx = d.next;
	}
	*niov = n;
	*total = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	if (unlikely(too_long || bytes > VHU_MAX_CHAIN_BYTES))
		return VHU_CHAIN_DROP;
	return VHU_CHAIN_OK;
}

uint16_t vhu_split_avail_count(struct vhu_vq *vq)
{
	/* Every walk starts here: a broken ring is never read again. */
	if (unlikely(vq->broken))
		return 0;
	uint16_t idx = VHU_LOAD_ACQ(vq->avail->idx);
	uint16_t n = (uint16_t)(idx - vq->last_avail_idx);

	if (unlikely(n > vq->size)) {
		vhu_vq_break(vq, "avail index %u is %u entries ahead of %u (ring size %u)",
			     idx, n, vq->last_avail_idx, vq->size);
		return 0;
	}
	return n;
}

bool vhu_split_avail_head(struct vhu_vq *vq, uint16_t n, uint16_t *head)
{
	uint16_t slot = (uint16_t)(vq->last_avail_idx + n) & (vq->size - 1);
	uint16_t h = VHU_READ_ONCE(vq->avail->ring[slot]);

	if (unlikely(h >= vq->size)) {
		vhu_vq_break(vq, "avail ring entry %u names descriptor %u (ring size %u)",
			     slot, h, vq->size);
		return false;
	}
	*head = h;
	if (unlikely(vq->inflight))
		vhu_inflight_split_take(vq, h);
	return true;
}

void vhu_split_flush_used(struct vhu_vq *vq, uint16_t n)
{
	uint16_t mask = vq->size - 1;
	uint16_t start = vq->last_used_idx & mask;
	uint16_t first = VHU_MIN(n, (uint16_t)(vq->size - start));

	if (n == 0)
		return;
	if (unlikely(vq->inflight))
		vhu_inflight_split_batch(vq, n);
	memcpy(&vq->used->ring[start], vq->shadow, first * sizeof(vq->shadow[0]));
	if (first < n)
		memcpy(&vq->used->ring[0], &vq->shadow[first],
		       (size_t)(n - first) * sizeof(vq->shadow[0]));
	vq->last_used_idx += n;
	VHU_STORE_REL(vq->used->idx, vq->last_used_idx);
	if (unlikely(vq->inflight))
		vhu_inflight_split_done(vq, n);
	if (unlikely(vhu_vq_logging(vq))) {
		uint64_t base = vq->used_gpa + offsetof(struct vring_used, ring);
		vhu_dirty_log_mark(vq->log, base + start * sizeof(vq->shadow[0]),
			           first * sizeof(vq->shadow[0]));
		if (first < n)
			vhu_dirty_log_mark(vq->log, base, (n - first) * sizeof(vq->shadow[0]));
		vhu_dirty_log_mark(vq->log, vq->used_gpa + offsetof(struct vring_used, idx),
			           sizeof(uint16_t));
	}
}

void vhu_split_notify(struct vhu_vq *vq)
{
	if (vq->callfd < 0)
		return;
	/* The used index must be visible before we read the guest's wish. */
	vhu_smp_mb();
	if (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) {
		uint16_t old = vq->signalled_used, new = vq->last_used_idx;
		uint16_t ev = VHU_READ_ONCE(vq->avail->ring[vq->size]);
		bool valid = vq->signalled_used_valid;
		vq->signalled_used = new;
		vq->signalled_used_valid = true;
		if (valid && !vring_need_event(ev, new, old))
			return;
	} else if (VHU_READ_ONCE(vq->avail->flags) & VRING_AVAIL_F_NO_INTERRUPT) {
		return;
	}
	eventfd_write(vq->callfd, 1);
	VHU_STAT_ADD(vq->stats.kicks, 1);
}
