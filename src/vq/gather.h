/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The common case of a burst, read in one pass before any byte is copied:
 * the run of available buffers that are each one direct descriptor in one
 * guest memory region (what Linux and DPDK drivers post for every packet
 * that fits a buffer). The copy pass then finds each buffer's host address
 * in an array, so every descriptor is loaded and translated once, and the
 * prefetch for the buffer VHU_AHEAD on costs one array read instead of a
 * second walk of the ring.
 *
 * The first buffer that is anything else (not available yet, chained,
 * indirect, the wrong direction, out of memory or an IOTLB miss, a bad id
 * or head) ends the run and is not consumed: the caller's general walk
 * (vhu_packed_chain,
 * vhu_split_avail_head and vhu_split_chain) reads it again from the ring
 * and decides on it, breaking the queue if it is bad.
 */
#ifndef VHU_VQ_GATHER_H
#define VHU_VQ_GATHER_H

#include "vq/vq.h"

/* How far the copy pass prefetches in front of itself, in buffers.
 * Prefetching a whole burst at once asks for more lines than the core can
 * have in flight (the prefetches themselves stall) and the first lines
 * cool again before their copy. */
#define VHU_AHEAD 8

/* A buffer's first lines, before the copy pass reads or writes them. A
 * receive buffer whose virtio-net header (hdr_len bytes) fills the rest
 * of its line, as DPDK posts them (116 bytes into a line-aligned mbuf),
 * has that line fetched shared: the copy pass writes the header only
 * where it changed (vhu_net_put_hdr), and a recycled buffer holds the
 * header it got last time, so the line stays in the guest's cache too;
 * taken for ownership, it would leave the guest's cache and come back on
 * the guest's read, two transfers between the cores a packet. */
static inline void vhu_prefetch_buf(const uint8_t *p, uint32_t len, bool writable,
				    uint32_t hdr_len)
{
	if (!writable || !hdr_len || ((uintptr_t)p + hdr_len) & 63 || len <= hdr_len) {
		vhu_prefetch_span(p, len, writable);
		return;
	}
	/* The frame from a line boundary: a 64-byte one is that line. */
	vhu_prefetch(p);
	vhu_prefetch_w(p + hdr_len);
}

/* Reads up to max buffers from the backend's position into iov[0..k) and
 * sh[0..k) (id, one descriptor, len 0); returns k. The position does not
 * move: the caller moves it past what it consumed (vhu_packed_pos_add).
 * Each descriptor is loaded field by field once into locals and only the
 * locals are checked and used. Prefetches the first VHU_AHEAD buffers. */
/* The loops below take the vring's IOTLB view as an argument and are
 * inlined twice, once with NULL: off the IOMMU the branch on it is gone
 * from the loop, not just predicted. fn(args..., tlb) either way: */
#define VHU_GATHER_BY_TLB(vq, fn, ...) \
	(likely(!(vq)->iotlb) ? fn(__VA_ARGS__, NULL) : fn(__VA_ARGS__, (vq)->iotlb))

static inline __attribute__((always_inline)) uint16_t
packed_gather_tlb(struct vhu_vq *vq, bool writable, struct vhu_iov *iov,
		  struct vhu_packed_used *sh, uint16_t max, const struct vhu_iotlb *tlb)
	VHU_REQUIRES(vq->lock)
{
	/* Locals: the ring loads are volatile, and iov and sh may alias *vq
	 * as far as the compiler knows. */
	const struct vring_packed_desc *ring = vq->desc_packed;
	const struct vhu_memmap *mem = vq->mem;
	const uint16_t size = vq->size;
	const uint32_t hdr_len = vq->hdr_len;
	const uint16_t mask = (uint16_t)((1u << VRING_PACKED_DESC_F_AVAIL) |
					 (1u << VRING_PACKED_DESC_F_USED) | VRING_DESC_F_NEXT |
					 VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE);
	const uint16_t dir = writable ? VRING_DESC_F_WRITE : 0;
	struct vhu_gpa_hint hint = { 0, 0, NULL };
	uint16_t idx = vq->last_avail_idx, k;
	bool wrap = vq->avail_wrap;
	/* Available in this lap (AVAIL = wrap, USED = !wrap), no NEXT, no
	 * INDIRECT, the direction asked for: one compare. */
	uint16_t want = (uint16_t)(dir | (wrap ? 1u << VRING_PACKED_DESC_F_AVAIL
					       : 1u << VRING_PACKED_DESC_F_USED));

	for (k = 0; k < max; k++) {
		const struct vring_packed_desc *src = &ring[idx];
		/* Acquire: addr, len and id were written before the flags. */
		uint16_t flags = VHU_LOAD_ACQ(src->flags);
		if ((flags & mask) != want)
			break;
		uint64_t addr = VHU_READ_ONCE(src->addr);
		uint32_t len = VHU_READ_ONCE(src->len);
		uint16_t id = VHU_READ_ONCE(src->id);
		uint8_t *p = len - 1u < VHU_MAX_CHAIN_BYTES && id < size ?
			vhu_vq_to_hva_hint(mem, tlb, &hint, addr, len, writable) : NULL;
		if (unlikely(!p))
			break;
		iov[k] = (struct vhu_iov){ .base = p, .len = len, .gpa = addr };
		sh[k] = (struct vhu_packed_used){ .id = id, .ndesc = 1, .len = 0 };
		if (k < VHU_AHEAD)
			vhu_prefetch_buf(p, len, writable, hdr_len);
		/* The descriptor line two lines on. */
		if ((idx & 3) == 0 && idx + 8u < size)
			vhu_prefetch(src + 8);
		if (unlikely(++idx == size)) {
			idx = 0;
			wrap = !wrap;
			want ^= (uint16_t)((1u << VRING_PACKED_DESC_F_AVAIL) |
					   (1u << VRING_PACKED_DESC_F_USED));
		}
	}
	return k;
}

static inline uint16_t vhu_packed_gather(struct vhu_vq *vq, bool writable, struct vhu_iov *iov,
					 struct vhu_packed_used *sh, uint16_t max)
	VHU_REQUIRES(vq->lock)
{
	return VHU_GATHER_BY_TLB(vq, packed_gather_tlb, vq, writable, iov, sh, max);
}

/* Split rings: up to max buffers named by the avail entries from
 * last_avail_idx (the caller knows that many are there), into iov[0..k)
 * and sh[0..k) (head, len 0); returns k. The backend's position does not
 * move: the caller adds what it consumed. As for packed rings, each
 * descriptor is loaded once into locals and only the locals are used. */
static inline __attribute__((always_inline)) uint16_t
split_gather_tlb(struct vhu_vq *vq, bool writable, struct vhu_iov *iov,
		 struct vring_used_elem *sh, uint16_t max, const struct vhu_iotlb *tlb)
	VHU_REQUIRES(vq->lock)
{
	const struct vring_desc *table = vq->desc;
	const uint16_t *ring = vq->avail->ring;
	const struct vhu_memmap *mem = vq->mem;
	const uint16_t size = vq->size, mask = (uint16_t)(size - 1), start = vq->last_avail_idx;
	const uint16_t want = writable ? VRING_DESC_F_WRITE : 0;
	const uint32_t hdr_len = vq->hdr_len;
	struct vhu_gpa_hint hint = { 0, 0, NULL };
	uint16_t k;

	for (k = 0; k < max; k++) {
		uint16_t head = VHU_READ_ONCE(ring[(uint16_t)(start + k) & mask]);
		if (unlikely(head >= size))
			break;
		const struct vring_desc *src = &table[head];
		uint16_t flags = VHU_READ_ONCE(src->flags);
		if ((flags & (VRING_DESC_F_NEXT | VRING_DESC_F_INDIRECT | VRING_DESC_F_WRITE)) !=
		    want)
			break;
		uint64_t addr = VHU_READ_ONCE(src->addr);
		uint32_t len = VHU_READ_ONCE(src->len);
		uint8_t *p = len - 1u < VHU_MAX_CHAIN_BYTES ?
			vhu_vq_to_hva_hint(mem, tlb, &hint, addr, len, writable) : NULL;
		if (unlikely(!p))
			break;
		iov[k] = (struct vhu_iov){ .base = p, .len = len, .gpa = addr };
		sh[k] = (struct vring_used_elem){ .id = head, .len = 0 };
		if (k < VHU_AHEAD)
			vhu_prefetch_buf(p, len, writable, hdr_len);
		/* The descriptor the run reaches VHU_AHEAD buffers on (heads
		 * are any order; only a hint, so the entry is not checked). */
		if (k + VHU_AHEAD < max)
			vhu_prefetch(&table[VHU_READ_ONCE(ring[(uint16_t)(start + k + VHU_AHEAD) &
							      mask]) & mask]);
	}
	return k;
}

static inline uint16_t vhu_split_gather(struct vhu_vq *vq, bool writable, struct vhu_iov *iov,
					struct vring_used_elem *sh, uint16_t max)
	VHU_REQUIRES(vq->lock)
{
	return VHU_GATHER_BY_TLB(vq, split_gather_tlb, vq, writable, iov, sh, max);
}

/* The copy pass's prefetch: buffer b + VHU_AHEAD of the k gathered. */
static inline void vhu_gather_ahead(const struct vhu_iov *iov, uint16_t b, uint16_t k,
				    bool write, uint32_t hdr_len)
{
	if (b + VHU_AHEAD < k)
		vhu_prefetch_buf(iov[b + VHU_AHEAD].base, iov[b + VHU_AHEAD].len, write, hdr_len);
}

/* Where a run of k single-descriptor buffers from start ends (k <= size:
 * a run cannot lap the ring, the wrap counter would no longer match). */
static inline struct vhu_packed_pos vhu_packed_pos_add(const struct vhu_vq *vq,
						       struct vhu_packed_pos start,
						       uint16_t k)
{
	uint32_t idx = (uint32_t)start.idx + k;
	if (idx >= vq->size) {
		idx -= vq->size;
		start.wrap = !start.wrap;
	}
	start.idx = (uint16_t)idx;
	return start;
}

#endif
