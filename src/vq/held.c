/* SPDX-License-Identifier: BSD-3-Clause */
/* The completion window of zero-copy transmit buffers (held.h). */
#include <stdlib.h>
#include "common/log.h"
#include "vq/held.h"

enum { HS_DONE, HS_HELD, HS_GONE };

struct vhu_held *vhu_held_new(struct vhu_vq *vq)
{
	struct vhu_held *h = calloc(1, sizeof(*h));
	if (h) {
		vhu_spin_init(&h->lock);
		h->refs = 1;
		h->vq = vq;
	}
	return h;
}

void vhu_held_lock(struct vhu_held *h) VHU_NO_TSA
{
	vhu_spin_lock(&h->lock);
}

void vhu_held_unlock(struct vhu_held *h) VHU_NO_TSA
{
	vhu_spin_unlock(&h->lock);
}

static void held_free(struct vhu_held *h)
{
	free(h->slot);
	free(h->orphan);
	free(h);
}

/* Room in the orphan list for n more; false when there is no memory. */
static bool orphan_reserve(struct vhu_held *h, uint32_t n) VHU_REQUIRES(h)
{
	if (h->norphan + n > h->orphan_cap) {
		uint32_t cap = h->norphan + n + 64;
		void *o = realloc(h->orphan, cap * sizeof(*h->orphan));
		if (!o)
			return false;
		h->orphan = o;
		h->orphan_cap = cap;
	}
	return true;
}

/* Held slot s (at position p) stops owning its buffer: its packet keeps
 * the map through the orphan list (reserved), the slot goes to state to. */
static void orphan_slot(struct vhu_held *h, struct vhu_held_slot *s, uint64_t p, uint8_t to)
	VHU_REQUIRES(h)
{
	h->orphan[h->norphan++] = (struct vhu_held_orphan){ p, s->mem };
	s->state = to;
	s->mem = NULL;
	h->held--;
	if (to == HS_DONE)
		h->done++;
}

/* Every held slot of [head, tail) orphaned, in state to. False only when
 * there is no memory for the list; then nothing changed. */
static bool orphan_held(struct vhu_held *h, uint8_t to) VHU_REQUIRES(h)
{
	if (!orphan_reserve(h, h->held))
		return false;
	for (uint64_t p = h->head; p != h->tail && h->held; p++) {
		struct vhu_held_slot *s = &h->slot[p & h->mask];
		if (s->state == HS_HELD)
			orphan_slot(h, s, p, to);
	}
	return true;
}

void vhu_held_detach(struct vhu_held *h)
{
	bool last;

	if (!h)
		return;
	vhu_held_lock(h);
	if (orphan_held(h, HS_GONE)) {
		h->head = h->tail;
		h->done = 0;
	}
	/* else no memory for the list: the held slots stay, their releases
	 * find them there, and nothing is published any more. */
	h->vq = NULL;
	last = --h->refs == 0;
	vhu_held_unlock(h);
	if (last)
		held_free(h);
}

static uint16_t publish(struct vhu_held *h, struct vhu_vq *vq) VHU_REQUIRES(h, vq->lock);

static bool ordered(const struct vhu_vq *vq)
{
	return vhu_vq_packed(vq) || (vq->features & (1ULL << VIRTIO_F_IN_ORDER));
}

uint16_t vhu_held_room(struct vhu_held *h, struct vhu_vq *vq)
{
	/* Split rings without order return around held slots, so the
	 * window may run ahead of the oldest: slots for twice the ring. */
	const uint32_t size = vq->size, lap = 2u * size;
	uint32_t limit = ordered(vq) ? size : lap, need = VHU_MAX(1u, VHU_MIN(32u, size / 4u));

	if (unlikely(!h->slot || h->mask + 1u < lap)) {
		/* First use, or a bigger ring than before: only while empty
		 * (positions index the slots modulo their count). */
		uint32_t n = 1;
		if (h->tail != h->head)
			return 0;
		while (n < lap)
			n <<= 1;
		void *s = calloc(n, sizeof(*h->slot));
		if (!s)
			return 0;
		free(h->slot);
		h->slot = s;
		h->mask = n - 1;
	}
	/* A packet held for long must not stall the ring (in order, what
	 * was taken after it waits for it; out of order, the window would
	 * lap it): the oldest is taken back, as at a stop. */
	while (h->tail - h->head + need > limit && h->head != h->tail) {
		struct vhu_held_slot *s = &h->slot[h->head & h->mask];
		if (s->state == HS_HELD) {
			if (!orphan_reserve(h, 1))
				break;
			orphan_slot(h, s, h->head, HS_DONE);
		}
		publish(h, vq);
	}
	/* Never more taken than the ring holds: a guest reposting heads we
	 * still hold must not make the window lap itself. */
	uint64_t out = (uint64_t)h->held + h->done, len = h->tail - h->head;
	if (out >= size || len >= limit)
		return 0;
	return (uint16_t)VHU_MIN(VHU_MIN(size - out, limit - len), VHU_MAX_BURST);
}

uint64_t vhu_held_take(struct vhu_held *h, uint16_t id, uint16_t ndesc)
{
	uint64_t pos = h->tail++;
	h->slot[pos & h->mask] = (struct vhu_held_slot){ .pos = pos, .id = id, .ndesc = ndesc,
							 .state = HS_DONE };
	h->done++;
	return pos;
}

void vhu_held_hold(struct vhu_held *h, uint64_t pos, const struct vhu_memmap *mem)
{
	struct vhu_held_slot *s = &h->slot[pos & h->mask];
	s->mem = mem;
	s->state = HS_HELD;
	h->done--;
	h->held++;
	h->refs++;
}

/* Collects one used buffer into the vring's shadow entries, writing them
 * back when full. */
static void emit(struct vhu_vq *vq, const struct vhu_held_slot *s, uint16_t *k)
	VHU_REQUIRES(vq->lock)
{
	if (vhu_vq_packed(vq))
		vq->shadow_packed[*k] = (struct vhu_packed_used){ .id = s->id, .ndesc = s->ndesc };
	else
		vq->shadow[*k] = (struct vring_used_elem){ .id = s->id, .len = 0 };
	if (++*k == VHU_MAX_BURST) {
		if (vhu_vq_packed(vq))
			vhu_packed_flush_used(vq, *k, false);
		else
			vhu_split_flush_used(vq, *k);
		*k = 0;
	}
}

/* Returns the done slots (all of them as done when all is set, the held
 * ones then orphaned by the caller first). */
static uint16_t publish(struct vhu_held *h, struct vhu_vq *vq)
{
	const bool in_order = ordered(vq);
	bool front = true;
	uint16_t k = 0, total = 0;

	for (uint64_t p = h->head; p != h->tail; p++) {
		struct vhu_held_slot *s = &h->slot[p & h->mask];
		if (s->state == HS_HELD) {
			if (in_order)
				break;
			front = false;
		} else if (s->state == HS_DONE) {
			emit(vq, s, &k);
			s->state = HS_GONE;
			h->done--;
			total++;
		}
		if (front)
			h->head = p + 1;
		else if (h->done == 0)
			break;
	}
	if (k) {
		if (vhu_vq_packed(vq))
			vhu_packed_flush_used(vq, k, false);
		else
			vhu_split_flush_used(vq, k);
	}
	if (total) {
		if (vhu_vq_packed(vq))
			vhu_packed_notify(vq);
		else
			vhu_split_notify(vq);
	}
	return total;
}

uint16_t vhu_held_publish(struct vhu_held *h, struct vhu_vq *vq)
{
	if (h->done == 0 || !vq->active || vq->broken)
		return 0;
	return publish(h, vq);
}

void vhu_held_take_back(struct vhu_vq *vq)
{
	struct vhu_held *h = vq->held;
	bool ring = vq->size && (vhu_vq_packed(vq) ? vq->desc_packed != NULL : vq->used != NULL);
	uint32_t held;

	if (!h)
		return;
	vhu_held_lock(h);
	held = h->held;
	if (!orphan_held(h, HS_DONE)) {
		/* The ring's position then stays behind the buffers still out;
		 * the frontend gets them back when it restarts the ring. */
		VHU_ERR("%s: vring %u: no memory to take back %u zero-copy buffers",
			vq->name, vq->index, held);
	} else {
		if (ring)
			publish(h, vq);
		h->head = h->tail;
		h->done = 0;
		if (held)
			VHU_INFO("%s: vring %u: took back %u zero-copy buffers still out",
				 vq->name, vq->index, held);
	}
	vhu_held_unlock(h);
}

/* Releases one position (lock held); returns the map reference it gives
 * up, or NULL. */
static const struct vhu_memmap *release_one(struct vhu_held *h, uint64_t pos) VHU_REQUIRES(h)
{
	const struct vhu_memmap *mem = NULL;
	struct vhu_held_slot *s = h->slot ? &h->slot[pos & h->mask] : NULL;

	h->refs--;
	if (s && s->pos == pos && s->state == HS_HELD) {
		mem = s->mem;
		s->mem = NULL;
		s->state = HS_DONE;
		h->held--;
		h->done++;
		return mem;
	}
	for (uint32_t i = 0; i < h->norphan; i++) {
		if (h->orphan[i].pos == pos) {
			mem = h->orphan[i].mem;
			h->orphan[i] = h->orphan[--h->norphan];
			break;
		}
	}
	return mem;
}

void vhu_held_release(void *owner, const uint64_t *pos, unsigned n)
{
	struct vhu_held *h = owner;
	const struct vhu_memmap *mem[64], *run = NULL; /* n <= 64: pool.c's batch */
	unsigned nmem = 0, runs = 0;
	bool last;

	vhu_held_lock(h);
	for (unsigned i = 0; i < n; i++) {
		const struct vhu_memmap *m = release_one(h, pos[i]);
		if (m)
			mem[nmem++] = m;
	}
	struct vhu_vq *vq = h->vq;
	/* With the last one out, return them all now if the vring is free
	 * (one write-back for a burst freed together); else the vring's next
	 * burst does. */
	if (vq && h->held == 0 && h->done && vhu_spin_trylock(&vq->lock)) {
		vhu_held_publish(h, vq);
		vhu_spin_unlock(&vq->lock);
	}
	last = h->refs == 0;
	vhu_held_unlock(h);
	/* Map references, a put per run of one map. */
	for (unsigned i = 0; i < nmem; i++) {
		if (mem[i] != run) {
			vhu_memmap_put_n(run, runs);
			run = mem[i];
			runs = 0;
		}
		runs++;
	}
	vhu_memmap_put_n(run, runs);
	if (last)
		held_free(h);
}
