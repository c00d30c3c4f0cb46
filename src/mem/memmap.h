/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory as the frontend described it in SET_MEM_TABLE: each region
 * mapped once, looked up by guest-physical address (descriptors) or by the
 * frontend's virtual address (ring addresses in SET_VRING_ADDR).
 *
 * A memmap is immutable once built. SET_MEM_TABLE builds a new one, moves
 * each vring to it under that vring's lock (a burst uses its vring's own
 * pointer, vq->mem, so it sees one map or the other, never a mix) and
 * frees the old one only when no vring points at it any more.
 */
#ifndef VHU_MEM_MEMMAP_H
#define VHU_MEM_MEMMAP_H

#include <stdint.h>
#include <stddef.h>
#include "common/compiler.h"
#include "proto/wire.h"

struct vhu_mem_region {
	uint64_t gpa;       /* guest physical start */
	uint64_t size;
	uint64_t qva;       /* frontend virtual start */
	uint8_t *hva;       /* our mapping of gpa */
	void *mmap_addr;    /* what munmap takes */
	uint64_t mmap_size;
};

struct vhu_memmap {
	uint32_t nregions;
	struct vhu_mem_region regions[VHU_MAX_MEM_REGIONS];
};

/* Validates the table (region count, sizes, overflow, overlap, offset
 * within the file) and maps every region. Takes ownership of nothing: the
 * caller closes fds (a mapping outlives its fd). */
int vhu_memmap_build(const struct vhu_mem_table_wire *t, const int *fds,
		     int nfds, struct vhu_memmap **out);
void vhu_memmap_free(struct vhu_memmap *m);

/* The region that holds gpa, or NULL. */
static inline const struct vhu_mem_region *vhu_gpa_region(const struct vhu_memmap *m,
							  uint64_t gpa)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];
		if (gpa >= r->gpa && gpa - r->gpa < r->size)
			return r;
	}
	return NULL;
}

/* Host pointer for [gpa, gpa+*len) as far as it stays within one region;
 * *len is cut to that piece. NULL when gpa is not mapped. */
static inline void *vhu_gpa_piece(const struct vhu_memmap *m, uint64_t gpa,
				  uint64_t *len)
{
	const struct vhu_mem_region *r = vhu_gpa_region(m, gpa);
	uint64_t off;

	if (!r)
		return NULL;
	off = gpa - r->gpa;
	if (*len > r->size - off)
		*len = r->size - off;
	return r->hva + off;
}

/* The region a loop translated into last, in the loop's locals: guest
 * buffers of one burst almost always share a region, and one compare
 * beats walking the table. Starts empty (size 0: the first lookup walks). */
struct vhu_gpa_hint {
	uint64_t gpa;
	uint64_t size;
	uint8_t *hva;
};

/* As vhu_gpa_to_hva (the whole of [gpa, gpa+len) in one region, else
 * NULL), trying the hint's region first and remembering the one found. */
static inline void *vhu_gpa_to_hva_hint(const struct vhu_memmap *m, struct vhu_gpa_hint *h,
					uint64_t gpa, uint64_t len)
{
	uint64_t off = gpa - h->gpa;

	if (likely(off < h->size && len <= h->size - off))
		return h->hva + off;
	const struct vhu_mem_region *r = vhu_gpa_region(m, gpa);
	if (!r || len > r->size - (gpa - r->gpa))
		return NULL;
	*h = (struct vhu_gpa_hint){ .gpa = r->gpa, .size = r->size, .hva = r->hva };
	return r->hva + (gpa - r->gpa);
}

/* Host pointer for the whole of [gpa, gpa+len) when it lies in one region. */
static inline void *vhu_gpa_to_hva(const struct vhu_memmap *m, uint64_t gpa,
				   uint64_t len)
{
	uint64_t l = len;
	void *p = vhu_gpa_piece(m, gpa, &l);
	return p && l == len ? p : NULL;
}

/* Same for frontend virtual addresses. */
void *vhu_qva_piece(const struct vhu_memmap *m, uint64_t qva, uint64_t *len);
void *vhu_qva_to_hva(const struct vhu_memmap *m, uint64_t qva, uint64_t len);
/* Guest physical address of a frontend virtual address, or UINT64_MAX. */
uint64_t vhu_qva_to_gpa(const struct vhu_memmap *m, uint64_t qva);

#endif
