/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Guest memory as the frontend described it (SET_MEM_TABLE, or region by
 * region with ADD_MEM_REG and REM_MEM_REG): each region mapped once,
 * looked up by guest-physical address (descriptors) or by the frontend's
 * virtual address (ring addresses in SET_VRING_ADDR).
 *
 * A memmap is immutable once built. A change builds a new one, moves each
 * vring to it under that vring's lock (a burst uses its vring's own
 * pointer, vq->mem, so it sees one map or the other, never a mix) and
 * drops the old one only when no vring points at it any more and no
 * zero-copy packet reads from it (refs). ADD and REM carry the other
 * regions' mappings over to the new map: each mapping counts the maps
 * that hold it and is unmapped with the last, so a removed region goes
 * when the old map goes, after every vring has left it.
 */
#ifndef VHU_MEM_MEMMAP_H
#define VHU_MEM_MEMMAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include "common/compiler.h"
#include "proto/wire.h"

/* One mapping, as the maps that hold it share it. */
struct vhu_mem_share {
	unsigned maps; /* memmaps holding the mapping (any thread): the last unmaps it */
	/* ADD_MEM_REGs that named the region less the REM_MEM_REGs (control
	 * thread): QEMU 7.2 sends each of its per-queue-pair devices' regions
	 * on the one connection, so with several queue pairs a region comes
	 * once per pair, and goes as often. */
	unsigned adds;
};

struct vhu_mem_region {
	uint64_t gpa;       /* guest physical start */
	uint64_t size;
	uint64_t qva;       /* frontend virtual start */
	uint8_t *hva;       /* our mapping of gpa */
	void *mmap_addr;    /* what munmap takes */
	uint64_t mmap_size;
	struct vhu_mem_share *share; /* what the maps holding this mapping share */
};

/* Regions a map may hold: GET_MAX_MEM_SLOTS' answer, as libvhost-user
 * and rust-vmm give (SET_MEM_TABLE's wire still carries at most
 * VHU_MAX_MEM_REGIONS). */
#define VHU_MAX_MEM_SLOTS 509

struct vhu_memmap {
	/* The device's reference plus one per zero-copy packet still reading
	 * from this map (net/zc.h): the regions stay mapped until the last. */
	unsigned refs;
	uint32_t nregions;
	/* Frontend-VA lookups (rings, and each IOTLB hit with the vIOMMU):
	 * region indexes sorted by qva, a binary search when the regions'
	 * frontend ranges are disjoint (qva_disjoint), as every frontend
	 * makes them; else a walk in gpa order. Built with the map, in the
	 * same allocation. */
	uint16_t *by_qva;
	bool qva_disjoint;
	/* Sorted by gpa, disjoint: lookups by gpa are a binary search.
	 * Allocated to nregions. */
	struct vhu_mem_region regions[];
};

/* Validates the table (region count, sizes, overflow, overlap, offset
 * within the file) and maps every region. Takes ownership of nothing: the
 * caller closes fds (a mapping outlives its fd). */
int vhu_memmap_build(const struct vhu_mem_table_wire *t, const int *fds,
		     int nfds, struct vhu_memmap **out);
/* Frees m and unmaps each region no other map holds (NULL: nothing). */
void vhu_memmap_free(struct vhu_memmap *m);
/* n references more (any thread), and n less: the last unmaps and
 * frees. The device drops its own with vhu_memmap_put when the map is
 * replaced or the device reset; NULL: nothing. */
static inline void vhu_memmap_hold_n(const struct vhu_memmap *m, unsigned n)
{
	__atomic_add_fetch(&((struct vhu_memmap *)(uintptr_t)m)->refs, n, __ATOMIC_RELAXED);
}
static inline void vhu_memmap_put_n(const struct vhu_memmap *m, unsigned n)
{
	struct vhu_memmap *w = (struct vhu_memmap *)(uintptr_t)m;
	/* Acquire-release: every read of the regions by the holders happens
	 * before the unmap. */
	if (w && n && __atomic_sub_fetch(&w->refs, n, __ATOMIC_ACQ_REL) == 0)
		vhu_memmap_free(w);
}
static inline void vhu_memmap_put(const struct vhu_memmap *m) { vhu_memmap_put_n(m, 1); }

/* A new map: old's regions (the same mappings; old NULL: none) and w,
 * mapped from fd. Refused with a log line (old untouched) when w is
 * malformed, overlaps a region of old, lies past the end of its file or
 * would be region VHU_MAX_MEM_SLOTS + 1. The new map holds old's mappings
 * too: old can go as usual (vhu_memmap_put). A region old has already
 * (same gpa, size and frontend address) is counted, not mapped again:
 * 1, and *out is NULL. */
int vhu_memmap_add(const struct vhu_memmap *old, const struct vhu_mem_region_wire *w,
		   int fd, struct vhu_memmap **out);
/* A new map: old without the region w names (same gpa, size and frontend
 * address; the file offset is not compared, as the spec says). That
 * region is unmapped when old goes. Refused with a log line when old has
 * no such region; 1 and *out NULL when it was added more often than
 * removed so far (it stays). */
int vhu_memmap_remove(const struct vhu_memmap *old, const struct vhu_mem_region_wire *w,
		      struct vhu_memmap **out);
/* Faults the region in now (VHU_POPULATE_MEM) rather than on first use;
 * a kernel without MADV_POPULATE_WRITE leaves it to first use, logged. */
void vhu_mem_region_populate(const struct vhu_mem_region *r);

/* The region that holds gpa, or NULL. */
static inline const struct vhu_mem_region *vhu_gpa_region(const struct vhu_memmap *m,
							  uint64_t gpa)
{
	uint32_t lo = 0, hi = m->nregions;

	/* The last region starting at or below gpa is the only candidate. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->regions[mid].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct vhu_mem_region *r = &m->regions[lo - 1];
	return gpa - r->gpa < r->size ? r : NULL;
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

/* The region that holds frontend virtual address qva, or NULL (by_qva). */
const struct vhu_mem_region *vhu_qva_region(const struct vhu_memmap *m, uint64_t qva);
/* As vhu_gpa_piece and vhu_gpa_to_hva for frontend virtual addresses:
 * ring setup translates these, and with the vIOMMU each IOTLB hit. */
void *vhu_qva_piece(const struct vhu_memmap *m, uint64_t qva, uint64_t *len);
void *vhu_qva_to_hva(const struct vhu_memmap *m, uint64_t qva, uint64_t len);
/* Guest physical address of a frontend virtual address, or UINT64_MAX. */
uint64_t vhu_qva_to_gpa(const struct vhu_memmap *m, uint64_t qva);

#endif
