/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A device's IOTLB (VIRTIO_F_ACCESS_PLATFORM): what the frontend's vIOMMU
 * told us with VHOST_USER_IOTLB_MSG, an I/O virtual address (IOVA) range
 * mapped to a frontend virtual address with its access rights. With the
 * feature negotiated every address a vring holds is an IOVA: it goes
 * IOVA -> frontend VA here, then frontend VA -> our pointer in the memmap.
 *
 * Entries are kept sorted by IOVA and disjoint (an update replaces what it
 * overlaps), so a lookup is a binary search. The cache is bounded: a full
 * one gives up an entry for the new one, and the frontend answers the miss
 * again if it is needed later.
 *
 * Locking is the caller's: the control thread changes the cache with every
 * vring of the device locked, bursts read it under their own vring's lock,
 * so an invalidation is in force for every burst once its handler returns
 * (before the frontend is acknowledged).
 */
#ifndef VHU_MEM_IOTLB_H
#define VHU_MEM_IOTLB_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/vhost_types.h>
#include "mem/dirty_log.h"
#include "mem/memmap.h"

/* As DPDK's vhost library. */
#define VHU_IOTLB_MAX_ENTRIES 2048

struct vhu_iotlb_entry {
	uint64_t iova;
	uint64_t size;  /* > 0, iova + size and uaddr + size do not overflow */
	uint64_t uaddr; /* frontend virtual address */
	uint8_t perm;   /* VHOST_ACCESS_RO / WO / RW */
};

struct vhu_iotlb {
	uint32_t n;
	uint32_t evict_next; /* which entry a full cache gives up next */
	uint64_t evictions;
	struct vhu_iotlb_entry e[VHU_IOTLB_MAX_ENTRIES];
};

/* Why a translation gave no pointer. */
enum vhu_xlate {
	VHU_XLATE_OK,
	VHU_XLATE_MISS, /* no entry holds the IOVA with the rights asked for */
	VHU_XLATE_BAD,  /* an entry does, but its frontend VA is not guest memory */
};

struct vhu_iotlb *vhu_iotlb_new(void);
void vhu_iotlb_free(struct vhu_iotlb *t);
void vhu_iotlb_clear(struct vhu_iotlb *t);
/* Adds [iova, iova+size) -> uaddr (checked by the caller), replacing every
 * entry it overlaps; evicts one when full. */
void vhu_iotlb_insert(struct vhu_iotlb *t, uint64_t iova, uint64_t size, uint64_t uaddr,
		      uint8_t perm);
/* Removes every entry that overlaps [iova, iova+size); returns how many. */
uint32_t vhu_iotlb_remove(struct vhu_iotlb *t, uint64_t iova, uint64_t size);

/* Our pointer for [iova, iova + *len) as far as it stays in one entry and
 * one memory region (*len cut to that piece); NULL with *why set. */
void *vhu_iotlb_piece(const struct vhu_iotlb *t, const struct vhu_memmap *m, uint64_t iova,
		      uint64_t *len, uint8_t perm, enum vhu_xlate *why);
/* The whole of [iova, iova+len) contiguous in our memory (it may take
 * several entries), else NULL with *why and the first IOVA that failed in
 * *fail. For rings and indirect tables, indexed as plain arrays. */
void *vhu_iotlb_span(const struct vhu_iotlb *t, const struct vhu_memmap *m, uint64_t iova,
		     uint64_t len, uint8_t perm, enum vhu_xlate *why, uint64_t *fail);
/* As vhu_gpa_to_hva_hint for IOVAs: the whole of [iova, iova+len) in one
 * piece, the hint set to the piece of the entry found (hint ranges are
 * IOVAs then, and valid for perm only). NULL on a miss or a bad entry. */
void *vhu_iotlb_hint(const struct vhu_iotlb *t, const struct vhu_memmap *m,
		     struct vhu_gpa_hint *h, uint64_t iova, uint64_t len, uint8_t perm);
/* Marks the guest pages of [iova, iova+len) in the dirty log, which is
 * indexed by guest-physical address: each piece that stays in one entry
 * and one region goes IOVA -> frontend VA -> GPA. A piece with no entry
 * or outside guest memory is not marked (the write went through the same
 * entries, under the same vring lock: it cannot happen). */
void vhu_iotlb_log_mark(const struct vhu_iotlb *t, const struct vhu_memmap *m,
			const struct vhu_dirty_log *log, uint64_t iova, uint64_t len);
/* Guest physical address of an IOVA (ring addresses), or UINT64_MAX. */
uint64_t vhu_iotlb_to_gpa(const struct vhu_iotlb *t, const struct vhu_memmap *m,
			  uint64_t iova);

#endif
