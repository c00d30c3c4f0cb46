/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Transmit descriptors held by zero-copy packets (VHU_DEQUEUE_ZERO_COPY):
 * a vring's completion window. Every buffer a zero-copy burst takes gets
 * the next window position; one copied is done at once, one a packet
 * still refers to is done when the application frees that packet. Done
 * buffers go back to the guest (used ring, len 0: we write nothing into a
 * transmit buffer) in take order up to the first one still held when the
 * ring needs order (packed rings, IN_ORDER), and in any order on split
 * rings without IN_ORDER (used entries carry the head).
 *
 * Each held buffer keeps a reference on the memory map it was read from,
 * so a memory table change or a disconnect never unmaps memory under a
 * packet. Stopping the vring (GET_VRING_BASE) takes every held buffer
 * back: it is returned as used then, and its packet, still readable, no
 * longer owns it (an orphan: freeing it only drops the map reference).
 *
 * Locks: a burst holds its vring's lock, then the window's. A free (any
 * thread) takes the window's lock and only tries the vring's, so the
 * order is never reversed; what it cannot return the next burst does.
 * The last free of the held buffers returns them all (one write-back).
 */
#ifndef VHU_VQ_HELD_H
#define VHU_VQ_HELD_H

#include <stdint.h>
#include "vq/vq.h"

struct vhu_held_slot {
	const struct vhu_memmap *mem; /* while held */
	uint64_t pos;                 /* window position it was taken at */
	uint16_t id, ndesc;
	uint8_t state;
};

struct vhu_held_orphan {
	uint64_t pos;
	const struct vhu_memmap *mem;
};

struct VHU_CAPABILITY("held window") vhu_held {
	vhu_spinlock_t lock;
	struct vhu_vq *vq;            /* NULL once the vring is freed */
	unsigned refs;                /* 1 for the vring, 1 per held or orphan */
	uint64_t head, tail;          /* taken and not yet returned: [head, tail) */
	uint32_t held, done;          /* slots in those states */
	uint32_t mask;                /* slots - 1 (a power of two >= ring size) */
	struct vhu_held_slot *slot;
	struct vhu_held_orphan *orphan;
	uint32_t norphan, orphan_cap;
};

/* The window of vq (which then owns it). NULL on ENOMEM. */
struct vhu_held *vhu_held_new(struct vhu_vq *vq);
/* The vring goes away (its device is freed, nobody bursts): held buffers
 * become orphans, and the window is freed with the last of them. */
void vhu_held_detach(struct vhu_held *h);

/* Taken by a burst after its vring's lock, for the whole burst. */
void vhu_held_lock(struct vhu_held *h) VHU_ACQUIRE(h);
void vhu_held_unlock(struct vhu_held *h) VHU_RELEASE(h);

/* Positions a burst may take now (0 when the window cannot grow to the
 * ring's size). When a packet held long leaves too little room behind
 * it, it is taken back (returned, its packet orphaned), so that no packet an application keeps stalls the ring. */
uint16_t vhu_held_room(struct vhu_held *h, struct vhu_vq *vq)
	VHU_REQUIRES(h, vq->lock);
/* The next position, done (a copied buffer); returns it. */
uint64_t vhu_held_take(struct vhu_held *h, uint16_t id, uint16_t ndesc) VHU_REQUIRES(h);
/* Buffers held now, and how many may be (half the ring: the guest always
 * has the other half to send with, and past it bursts copy). */
static inline bool vhu_held_full(const struct vhu_held *h, const struct vhu_vq *vq)
	VHU_REQUIRES(h)
{
	return h->held >= vq->size / 2u;
}
/* Position pos (just taken) is now held by a packet reading from mem,
 * whose reference the caller took for it (vhu_memmap_hold_n, one for a
 * burst); the packet's free calls vhu_held_release with pos. */
void vhu_held_hold(struct vhu_held *h, uint64_t pos, const struct vhu_memmap *mem)
	VHU_REQUIRES(h);
/* Returns the done buffers the ring's order allows (used ring write-back
 * and notification, dirty-logged as usual); how many. */
uint16_t vhu_held_publish(struct vhu_held *h, struct vhu_vq *vq) VHU_REQUIRES(h, vq->lock);
/* The vring stops: every buffer taken goes back as used (held ones
 * become orphans); after it the ring's used position equals its avail
 * position. No ring: the window is emptied, nothing written. */
void vhu_held_take_back(struct vhu_vq *vq) VHU_REQUIRES(vq->lock);
/* The release call of zero-copy packets' external segments (pkt/ext.h):
 * n positions of window owner, at most 64. */
void vhu_held_release(void *owner, const uint64_t *pos, unsigned n);

#endif
