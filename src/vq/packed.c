/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Packed-ring walking for the device side (virtio 1.2, 2.8). One ring of
 * descriptors serves both directions: the guest makes a descriptor
 * available by setting its AVAIL flag bit to its wrap counter and its USED
 * bit to the inverse; we hand a buffer back by writing a used descriptor
 * (id, len, AVAIL and USED bits both equal to our used wrap counter) at our
 * own position, which then skips as many descriptors as the buffer took.
 *
 * As in split.c, every descriptor is loaded field by field exactly once into
 * a local and only the local is checked and used.
 */
#include <string.h>
#include <sys/eventfd.h>
#include "common/log.h"
#include "vq/inflight.h"
#include "vq/vq.h"

#define F_AVAIL ((uint16_t)(1u << VRING_PACKED_DESC_F_AVAIL))
#define F_USED  ((uint16_t)(1u << VRING_PACKED_DESC_F_USED))

#define desc_avail vhu_packed_desc_avail

/* Appends the pieces of one buffer to iov. BAD: the queue broke; NONE:
 * an IOTLB miss, sent. */
static enum vhu_chain_err add_buffer(struct vhu_vq *vq, uint64_t addr, uint32_t len,
				     bool writable, struct vhu_iov *iov, uint32_t *n,
				     uint32_t max_iov, bool *too_long) VHU_REQUIRES(vq->lock)
{
	uint64_t gpa = addr, left = len, end;

	if (unlikely(__builtin_add_overflow(gpa, left, &end))) {
		vhu_vq_break(vq, "buffer address 0x%llx + length %u overflows",
			     (unsigned long long)addr, len);
		return VHU_CHAIN_BAD;
	}
	while (left) {
		uint64_t l = left;
		enum vhu_xlate why;
		uint8_t *p = vhu_vq_piece(vq, gpa, &l, writable, &why);
		if (unlikely(!p)) {
			if (why == VHU_XLATE_MISS) {
				vhu_vq_iotlb_miss(vq, gpa, vhu_vq_perm(writable));
				return VHU_CHAIN_NONE;
			}
			vhu_vq_break(vq, "buffer 0x%llx len %u is outside guest memory",
				     (unsigned long long)addr, len);
			return VHU_CHAIN_BAD;
		}
		if (unlikely(*n == max_iov)) {
			*too_long = true; /* keep walking: the rest may still be bad */
		} else {
			iov[*n].base = p;
			iov[*n].len = (uint32_t)l;
			iov[*n].gpa = gpa;
			(*n)++;
		}
		gpa += l;
		left -= l;
	}
	return VHU_CHAIN_OK;
}

/* The entries of an indirect table (packed layout, used in order, NEXT
 * ignored). False: the queue broke. */
static enum vhu_chain_err walk_indirect(struct vhu_vq *vq, uint64_t addr, uint32_t len,
					bool writable, struct vhu_iov *iov, uint32_t *n,
					uint32_t max_iov, uint64_t *bytes, bool *too_long)
	VHU_REQUIRES(vq->lock)
{
	const struct vring_packed_desc *t;
	uint32_t entries;
	enum vhu_xlate why;
	uint64_t fail;

	if (unlikely(!(vq->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC)))) {
		vhu_vq_break(vq, "indirect descriptor used but not negotiated");
		return VHU_CHAIN_BAD;
	}
	if (unlikely(len == 0 || len % sizeof(struct vring_packed_desc) ||
		     len / sizeof(struct vring_packed_desc) > VHU_MAX_RING_SIZE)) {
		vhu_vq_break(vq, "indirect table length %u invalid (a non-zero multiple "
			     "of 16, at most %u entries)", len, VHU_MAX_RING_SIZE);
		return VHU_CHAIN_BAD;
	}
	t = vhu_vq_span(vq, addr, len, VHOST_ACCESS_RO, &why, &fail);
	if (unlikely(!t && why == VHU_XLATE_MISS)) {
		vhu_vq_iotlb_miss(vq, fail, VHOST_ACCESS_RO);
		return VHU_CHAIN_NONE;
	}
	if (unlikely(!t)) {
		vhu_vq_break(vq, "indirect table at 0x%llx len %u not inside one guest "
			     "memory region", (unsigned long long)addr, len);
		return VHU_CHAIN_BAD;
	}
	entries = len / sizeof(struct vring_packed_desc);
	for (uint32_t i = 0; i < entries; i++) {
		uint64_t a;
		uint32_t l;
		uint16_t f;
		if (unlikely((uintptr_t)t & 7)) {
			struct vring_packed_desc d;
			vhu_copy_once_unaligned(&d, &t[i], sizeof(d));
			a = d.addr;
			l = d.len;
			f = d.flags;
		} else {
			a = VHU_READ_ONCE(t[i].addr);
			l = VHU_READ_ONCE(t[i].len);
			f = VHU_READ_ONCE(t[i].flags);
		}
		if (unlikely(f & VRING_DESC_F_INDIRECT)) {
			vhu_vq_break(vq, "indirect descriptor inside an indirect table");
			return VHU_CHAIN_BAD;
		}
		if (unlikely(!!(f & VRING_DESC_F_WRITE) != writable)) {
			vhu_vq_break(vq, "%s descriptor in a %s indirect table",
				     writable ? "read-only" : "device-writable",
				     writable ? "receive" : "transmit");
			return VHU_CHAIN_BAD;
		}
		enum vhu_chain_err e = l ? add_buffer(vq, a, l, writable, iov, n, max_iov,
						      too_long) : VHU_CHAIN_OK;
		if (e != VHU_CHAIN_OK)
			return e;
		*bytes += l;
	}
	return VHU_CHAIN_OK;
}

enum vhu_chain_err vhu_packed_chain_full(struct vhu_vq *vq, struct vhu_packed_pos *pos,
					 bool writable, struct vhu_iov *iov, uint32_t *niov,
					 uint32_t max_iov, uint32_t *total, uint16_t *id,
					 uint16_t *ndesc)
{
	const struct vring_packed_desc *ring = vq->desc_packed;
	struct vhu_packed_pos p = *pos;
	uint32_t n = 0, hops = 0;
	uint64_t bytes = 0;
	bool too_long = false;
	uint16_t start = p.idx, bid = 0;

	for (;;) {
		const struct vring_packed_desc *src = &ring[p.idx];
		uint16_t flags;

		if (hops == 0) {
			/* Acquire: the rest of the buffer's descriptors were
			 * written before its first one's flags. */
			flags = VHU_LOAD_ACQ(src->flags);
			if (!desc_avail(flags, p.wrap))
				return VHU_CHAIN_NONE;
		} else {
			flags = VHU_READ_ONCE(src->flags);
			if (unlikely(!desc_avail(flags, p.wrap))) {
				vhu_vq_break(vq, "descriptor %u continues the chain from %u but "
					     "is not available (flags 0x%x, wrap %d)", p.idx,
					     start, flags, p.wrap);
				return VHU_CHAIN_BAD;
			}
		}
		uint64_t addr = VHU_READ_ONCE(src->addr);
		uint32_t len = VHU_READ_ONCE(src->len);
		bid = VHU_READ_ONCE(src->id);
		if (unlikely(++hops > vq->size)) {
			vhu_vq_break(vq, "descriptor chain from %u is longer than the ring (%u)",
				     start, vq->size);
			return VHU_CHAIN_BAD;
		}
		vhu_packed_pos_advance(vq, &p);
		if (flags & VRING_DESC_F_INDIRECT) {
			if (unlikely(flags & VRING_DESC_F_NEXT)) {
				vhu_vq_break(vq, "descriptor %u has both INDIRECT and NEXT",
					     start);
				return VHU_CHAIN_BAD;
			}
			enum vhu_chain_err e = walk_indirect(vq, addr, len, writable, iov, &n,
							     max_iov, &bytes, &too_long);
			if (e != VHU_CHAIN_OK)
				return e;
			break;
		}
		if (unlikely(!!(flags & VRING_DESC_F_WRITE) != writable)) {
			vhu_vq_break(vq, "%s descriptor in a %s chain (at %u)",
				     writable ? "read-only" : "device-writable",
				     writable ? "receive" : "transmit", start);
			return VHU_CHAIN_BAD;
		}
		enum vhu_chain_err e = len ? add_buffer(vq, addr, len, writable, iov, &n,
							max_iov, &too_long) : VHU_CHAIN_OK;
		if (e != VHU_CHAIN_OK)
			return e;
		bytes += len;
		if (!(flags & VRING_DESC_F_NEXT))
			break;
	}
	/* The buffer id is the last descriptor's. */
	if (unlikely(bid >= vq->size)) {
		vhu_vq_break(vq, "buffer id %u out of range (ring size %u)", bid, vq->size);
		return VHU_CHAIN_BAD;
	}
	*pos = p;
	*id = bid;
	*ndesc = (uint16_t)hops;
	*niov = n;
	*total = bytes > UINT32_MAX ? UINT32_MAX : (uint32_t)bytes;
	if (unlikely(too_long || bytes > VHU_MAX_CHAIN_BYTES))
		return VHU_CHAIN_DROP;
	return VHU_CHAIN_OK;
}

uint16_t vhu_packed_avail_count(struct vhu_vq *vq, uint16_t max)
{
	struct vhu_packed_pos p = { vq->last_avail_idx, vq->avail_wrap };
	uint16_t bufs = 0;

	for (uint32_t k = 0; k < vq->size && bufs < max; k++) {
		uint16_t f = VHU_LOAD_ACQ(vq->desc_packed[p.idx].flags);
		if (!desc_avail(f, p.wrap))
			break;
		if (!(f & VRING_DESC_F_NEXT))
			bufs++;
		vhu_packed_pos_advance(vq, &p);
	}
	return bufs;
}

/* The body of vhu_packed_flush_used, inlined once for each value of
 * writable and log so neither is tested per descriptor. */
static inline __attribute__((always_inline)) void
flush_used(struct vhu_vq *vq, uint16_t n, bool writable, bool log) VHU_REQUIRES(vq->lock)
{
	/* Everything the loop needs is copied to locals first: the ring stores
	 * are volatile 16-bit stores the compiler must assume may alias *vq
	 * and the shadow array, so it would reload each field after each one. */
	struct vring_packed_desc *ring = vq->desc_packed;
	const struct vhu_packed_used *s = vq->shadow_packed;
	const uint32_t size = vq->size, head_idx = vq->last_used_idx;
	bool wrap = vq->used_wrap;
	uint16_t used = wrap ? (uint16_t)(F_AVAIL | F_USED) : 0;
	/* WRITE marks a buffer we wrote into. */
	const uint16_t head_flags =
		(uint16_t)(used | (writable && s[0].len ? VRING_DESC_F_WRITE : 0));
	uint32_t at = head_idx;

	/* Each descriptor's id and len before its flags (the release store);
	 * the first descriptor's flags last of all, so the guest sees the
	 * whole batch at once. */
	for (uint32_t i = 0; i < n; i++) {
		struct vring_packed_desc *d = &ring[at];
		VHU_WRITE_ONCE(d->id, s[i].id);
		VHU_WRITE_ONCE(d->len, s[i].len);
		if (i)
			VHU_STORE_REL(d->flags, (uint16_t)(used | (writable && s[i].len
								   ? VRING_DESC_F_WRITE : 0)));
		at += s[i].ndesc;
		if (at >= size) {
			at -= size;
			wrap = !wrap;
			used ^= (uint16_t)(F_AVAIL | F_USED);
		}
	}
	VHU_STORE_REL(ring[head_idx].flags, head_flags);
	vq->last_used_idx = (uint16_t)at;
	vq->used_wrap = wrap;
	if (log) {
		/* After the writes: a page marked before its write could be
		 * sent, and its bit cleared, before the write lands. */
		for (uint32_t i = 0, p = head_idx; i < n; i++) {
			vhu_dirty_log_mark(vq->log, vq->desc_gpa + (uint64_t)p * sizeof(*ring),
				           sizeof(*ring));
			p += s[i].ndesc;
			if (p >= size)
				p -= size;
		}
	}
}

void vhu_packed_flush_used(struct vhu_vq *vq, uint16_t n, bool writable)
{
	if (n == 0)
		return;
	if (unlikely(vhu_vq_logging(vq)))
		flush_used(vq, n, writable, true);
	else if (writable)
		flush_used(vq, n, true, false);
	else
		flush_used(vq, n, false, false);
	/* The ring cannot tell a restarted backend where it stopped; the
	 * inflight region can. */
	if (unlikely(vq->inflight))
		vhu_inflight_packed_done(vq);
}

/* EVENT_IDX: whether the used position moved past the driver's event
 * offset since the last notification. Positions are made linear: `old`
 * one lap back when we wrapped since, `off` one lap back when its wrap
 * counter is the previous lap's. */
static bool need_event(const struct vhu_vq *vq, uint16_t off_wrap, uint16_t old_idx,
		       uint16_t new_idx)
{
	int32_t size = vq->size, old = old_idx, new = new_idx;
	int32_t off = off_wrap & (uint16_t)~(1u << VRING_PACKED_EVENT_F_WRAP_CTR);
	bool off_wrap_ctr = off_wrap >> VRING_PACKED_EVENT_F_WRAP_CTR;

	if (new <= old)
		old -= size;
	if (off_wrap_ctr != vq->used_wrap)
		off -= size;
	return off >= old && off < new;
}

void vhu_packed_notify(struct vhu_vq *vq)
{
	uint16_t flags, off_wrap, old = vq->signalled_used;
	bool valid = vq->signalled_used_valid;

	if (vq->callfd < 0)
		return;
	/* The used descriptors must be visible before we read the wish. */
	vhu_smp_mb();
	vq->signalled_used = vq->last_used_idx;
	vq->signalled_used_valid = true;
	/* Acquire: the driver writes off_wrap before it sets flags to DESC. */
	flags = VHU_LOAD_ACQ(vq->driver_event->flags);
	if (flags == VRING_PACKED_EVENT_FLAG_DISABLE)
		return;
	if (flags == VRING_PACKED_EVENT_FLAG_DESC &&
	    (vq->features & (1ULL << VIRTIO_RING_F_EVENT_IDX)) && valid) {
		off_wrap = VHU_READ_ONCE(vq->driver_event->off_wrap);
		if (!need_event(vq, off_wrap, old, vq->last_used_idx))
			return;
	}
	eventfd_write(vq->callfd, 1);
	VHU_STAT_ADD(vq->stats.kicks, 1);
}

/* ---- finding the device's position after a backend restart ----------
 *
 * A packed ring keeps no index in shared memory, so a frontend that lost
 * its backend cannot tell the new one where the old one stopped: QEMU 7.2
 * sends the position it had when the ring was last started (0 after boot).
 * The ring itself tells, when every buffer takes one ring slot (Linux and
 * DPDK's virtio-net: single descriptors, or one indirect one) and the
 * device completes in order, as libvhu does: going forward from the device
 * position P (wrap counter W), the guest's available descriptors come first
 * (AVAIL bit = the wrap counter of their lap, USED bit the inverse), then
 * the descriptors used in the previous lap (AVAIL = USED = that lap's
 * counter) up to P again. Exactly one (P, W) fits such a ring. */

static inline bool slot_avail_bit(const struct vhu_vq *vq, uint16_t i)
{
	return VHU_READ_ONCE(vq->desc_packed[i].flags) & F_AVAIL;
}

static inline bool slot_is_avail(const struct vhu_vq *vq, uint16_t i)
{
	uint16_t f = VHU_READ_ONCE(vq->desc_packed[i].flags);
	return !(f & F_AVAIL) != !(f & F_USED);
}

/* Whether the ring reads as the pattern above from (p, w). */
static bool fits(const struct vhu_vq *vq, uint16_t p, bool w)
{
	bool in_avail = true;

	for (uint32_t k = 0; k < vq->size; k++) {
		uint16_t i = (uint16_t)((p + k) % vq->size);
		bool lap = (p + k < vq->size) ? w : !w;
		uint16_t f = VHU_READ_ONCE(vq->desc_packed[i].flags);
		bool a = f & F_AVAIL, u = f & F_USED;
		if (in_avail && a == lap && u != lap)
			continue;
		in_avail = false;
		if (!(a == !lap && u == !lap))
			return false;
	}
	return true;
}

bool vhu_packed_resync(struct vhu_vq *vq)
{
	uint16_t n = vq->size, p = 0;
	bool w, found = false;

	if (fits(vq, vq->last_avail_idx, vq->avail_wrap))
		return false; /* the frontend's position is the ring's */
	/* Where used turns into available, if anything is available. */
	for (uint16_t i = 0; i < n && !found; i++) {
		if (slot_is_avail(vq, i) && !slot_is_avail(vq, (uint16_t)((i + n - 1) % n))) {
			p = i;
			found = true;
		}
	}
	if (found) {
		w = slot_avail_bit(vq, p);
	} else {
		/* All available or all used: P is where the AVAIL bit flips. */
		bool all_avail = slot_is_avail(vq, 0);
		for (uint16_t i = 1; i < n && !found; i++) {
			if (slot_avail_bit(vq, i) != slot_avail_bit(vq, (uint16_t)(i - 1))) {
				p = i;
				found = true;
			}
		}
		if (all_avail)
			w = slot_avail_bit(vq, p);
		else
			w = found ? slot_avail_bit(vq, (uint16_t)(p - 1)) : !slot_avail_bit(vq, 0);
	}
	if (!fits(vq, p, w)) {
		VHU_WARN("%s: vring %u: starting at %u (wrap %d) as the frontend says, though "
			 "the ring does not read as stopped there; no other position fits",
			 vq->name, vq->index, vq->last_avail_idx, vq->avail_wrap);
		return false;
	}
	VHU_WARN("%s: vring %u: the frontend says %u (wrap %d) but the ring stopped at "
		 "%u (wrap %d): resuming there (backend restart with packed rings)",
		 vq->name, vq->index, vq->last_avail_idx, vq->avail_wrap, p, w);
	vq->last_avail_idx = vq->last_used_idx = p;
	vq->avail_wrap = vq->used_wrap = w;
	vq->signalled_used_valid = false;
	return true;
}
