/* SPDX-License-Identifier: BSD-3-Clause */
#include <stdlib.h>
#include <string.h>
#include "mem/iotlb.h"

struct vhu_iotlb *vhu_iotlb_new(void)
{
	return calloc(1, sizeof(struct vhu_iotlb));
}

void vhu_iotlb_free(struct vhu_iotlb *t)
{
	free(t);
}

void vhu_iotlb_clear(struct vhu_iotlb *t)
{
	t->n = 0;
}

/* Index of the first entry that starts after iova. */
static uint32_t first_after(const struct vhu_iotlb *t, uint64_t iova)
{
	uint32_t lo = 0, hi = t->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (t->e[mid].iova <= iova)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct vhu_iotlb_entry *find(const struct vhu_iotlb *t, uint64_t iova)
{
	uint32_t i = first_after(t, iova);

	if (i == 0)
		return NULL;
	const struct vhu_iotlb_entry *e = &t->e[i - 1];
	return iova - e->iova < e->size ? e : NULL;
}

static void drop(struct vhu_iotlb *t, uint32_t lo, uint32_t hi)
{
	memmove(&t->e[lo], &t->e[hi], (t->n - hi) * sizeof(t->e[0]));
	t->n -= hi - lo;
}

uint32_t vhu_iotlb_remove(struct vhu_iotlb *t, uint64_t iova, uint64_t size)
{
	uint64_t last = size ? iova + (size - 1) : iova; /* inclusive: no overflow */
	uint32_t lo = first_after(t, iova), hi = first_after(t, last);

	if (size == 0)
		return 0;
	/* Entries are disjoint: only the one before lo can reach into the range. */
	if (lo > 0 && iova - t->e[lo - 1].iova < t->e[lo - 1].size)
		lo--;
	drop(t, lo, hi);
	return hi - lo;
}

void vhu_iotlb_insert(struct vhu_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
		      uint8_t perm)
{
	vhu_iotlb_remove(t, iova, size);
	if (t->n == VHU_IOTLB_MAX_ENTRIES) {
		/* Round robin over the positions: no entry is kept forever
		 * and nothing is allocated on this path. */
		uint32_t v = t->evict_next++ % t->n;
		drop(t, v, v + 1);
		t->evictions++;
	}
	uint32_t at = first_after(t, iova);
	memmove(&t->e[at + 1], &t->e[at], (t->n - at) * sizeof(t->e[0]));
	t->e[at] = (struct vhu_iotlb_entry){ .iova = iova, .size = size, .uaddr = uaddr,
					     .perm = perm };
	t->n++;
}

void *vhu_iotlb_piece(const struct vhu_iotlb *t, const struct vhu_memmap *m, uint64_t iova,
		      uint64_t *len, uint8_t perm, enum vhu_xlate *why)
{
	const struct vhu_iotlb_entry *e = find(t, iova);

	if (!e || (perm & ~e->perm)) {
		*why = VHU_XLATE_MISS;
		return NULL;
	}
	uint64_t off = iova - e->iova, l = *len;
	if (l > e->size - off)
		l = e->size - off;
	void *p = m ? vhu_qva_piece(m, e->uaddr + off, &l) : NULL;
	if (!p) {
		*why = VHU_XLATE_BAD;
		return NULL;
	}
	*why = VHU_XLATE_OK;
	*len = l;
	return p;
}

void *vhu_iotlb_span(const struct vhu_iotlb *t, const struct vhu_memmap *m, uint64_t iova,
		     uint64_t len, uint8_t perm, enum vhu_xlate *why, uint64_t *fail)
{
	uint8_t *base = NULL, *next = NULL;
	uint64_t end;

	*fail = iova;
	if (len == 0 || __builtin_add_overflow(iova, len, &end)) {
		*why = VHU_XLATE_BAD;
		return NULL;
	}
	while (len) {
		uint64_t l = len;
		uint8_t *p = vhu_iotlb_piece(t, m, iova, &l, perm, why);
		if (!p) {
			*fail = iova;
			return NULL;
		}
		if (base && p != next) {
			/* Contiguous IOVAs in two places of our memory. */
			*fail = iova;
			*why = VHU_XLATE_BAD;
			return NULL;
		}
		if (!base)
			base = p;
		next = p + l;
		iova += l;
		len -= l;
	}
	return base;
}

void *vhu_iotlb_hint(const struct vhu_iotlb *t, const struct vhu_memmap *m,
		     struct vhu_gpa_hint *h, uint64_t iova, uint64_t len, uint8_t perm)
{
	const struct vhu_iotlb_entry *e = find(t, iova);

	if (!e || (perm & ~e->perm) || !m)
		return NULL;
	uint64_t l = e->size;
	uint8_t *p = vhu_qva_piece(m, e->uaddr, &l);
	if (p && l == e->size) {
		*h = (struct vhu_gpa_hint){ .gpa = e->iova, .size = e->size, .hva = p };
	} else {
		/* The entry crosses regions (or starts outside one): the hint
		 * covers what follows iova in its region. */
		uint64_t off = iova - e->iova;
		l = e->size - off;
		p = vhu_qva_piece(m, e->uaddr + off, &l);
		if (!p)
			return NULL;
		*h = (struct vhu_gpa_hint){ .gpa = iova, .size = l, .hva = p };
	}
	uint64_t off = iova - h->gpa;
	return len <= h->size - off ? h->hva + off : NULL;
}

uint64_t vhu_iotlb_to_gpa(const struct vhu_iotlb *t, const struct vhu_memmap *m,
			  uint64_t iova)
{
	const struct vhu_iotlb_entry *e = find(t, iova);

	return e && m ? vhu_qva_to_gpa(m, e->uaddr + (iova - e->iova)) : UINT64_MAX;
}

void vhu_iotlb_log_mark(const struct vhu_iotlb *t, const struct vhu_memmap *m,
			const struct vhu_dirty_log *log, uint64_t iova, uint64_t len)
{
	while (len && m) {
		const struct vhu_iotlb_entry *e = find(t, iova);
		if (!e)
			return;
		uint64_t off = iova - e->iova, l = len < e->size - off ? len : e->size - off;
		const struct vhu_mem_region *r = vhu_qva_region(m, e->uaddr + off);
		if (!r)
			return;
		uint64_t roff = e->uaddr + off - r->qva;
		if (l > r->size - roff)
			l = r->size - roff;
		vhu_dirty_log_mark(log, r->gpa + roff, l);
		iova += l;
		len -= l;
	}
}
