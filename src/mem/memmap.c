/* SPDX-License-Identifier: BSD-3-Clause */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/log.h"
#include "mem/memmap.h"

static int region_check(const char *req, const struct vhu_mem_region_wire *w, uint32_t i)
{
	uint64_t end;

	if (w->memory_size == 0) {
		VHU_ERR("%s: region %u has size 0", req, i);
		return -EINVAL;
	}
	if (__builtin_add_overflow(w->guest_phys_addr, w->memory_size, &end) ||
	    __builtin_add_overflow(w->userspace_addr, w->memory_size, &end) ||
	    __builtin_add_overflow(w->mmap_offset, w->memory_size, &end)) {
		VHU_ERR("%s: region %u: address + size overflows "
			"(gpa 0x%llx qva 0x%llx off 0x%llx size 0x%llx)", req, i,
			(unsigned long long)w->guest_phys_addr,
			(unsigned long long)w->userspace_addr,
			(unsigned long long)w->mmap_offset,
			(unsigned long long)w->memory_size);
		return -EINVAL;
	}
	/* Ring addresses are checked for alignment as the frontend gives them
	 * (guest-physical or frontend-virtual); our host address is aligned
	 * only if both agree with the file offset (the mapping starts at a
	 * page) to 16 bytes, the largest ring alignment. Real frontends use
	 * page-aligned regions. */
	if (((w->mmap_offset - w->userspace_addr) | (w->mmap_offset - w->guest_phys_addr)) & 15) {
		VHU_ERR("%s: region %u: gpa 0x%llx, qva 0x%llx and offset 0x%llx "
			"are not aligned alike (16 bytes)", req, i,
			(unsigned long long)w->guest_phys_addr,
			(unsigned long long)w->userspace_addr,
			(unsigned long long)w->mmap_offset);
		return -EINVAL;
	}
	return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

static int region_map(const char *req, struct vhu_mem_region *r,
		      const struct vhu_mem_region_wire *w, int fd, uint32_t i)
{
	struct stat st;
	uint64_t map_size, align;

	if (fstat(fd, &st) < 0) {
		VHU_ERR("%s: region %u: fstat: %s", req, i, strerror(errno));
		return -errno;
	}
	/* memfd and hugetlbfs files report their size; the region must be
	 * inside it, or the first touch past the end would SIGBUS us. */
	if (S_ISREG(st.st_mode) &&
	    w->mmap_offset + w->memory_size > (uint64_t)st.st_size) {
		VHU_ERR("%s: region %u: offset 0x%llx + size 0x%llx is "
			"past the end of its file (0x%llx)", req, i,
			(unsigned long long)w->mmap_offset,
			(unsigned long long)w->memory_size,
			(unsigned long long)st.st_size);
		return -EINVAL;
	}
	/* hugetlbfs wants mapping lengths in whole huge pages; st_blksize
	 * is the page size there and 4 KiB elsewhere. */
	align = st.st_blksize > 0 ? (uint64_t)st.st_blksize : 4096;
	map_size = w->mmap_offset + w->memory_size;
	map_size = (map_size + align - 1) & ~(align - 1);
	/* Not populated: pages are faulted in when the data path first
	 * touches them, as DPDK does, so connecting a large guest costs no
	 * time and memory overcommit keeps working (VHU_POPULATE_MEM asks
	 * for the old way, vhu_mem_region_populate). */
	void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		VHU_ERR("%s: region %u: mmap of 0x%llx bytes: %s", req, i,
			(unsigned long long)map_size, strerror(e));
		return -e;
	}
	if (!(r->share = malloc(sizeof(*r->share)))) {
		munmap(p, map_size);
		return -ENOMEM;
	}
	*r->share = (struct vhu_mem_share){ .maps = 1, .adds = 1 };
	r->gpa = w->guest_phys_addr;
	r->size = w->memory_size;
	r->qva = w->userspace_addr;
	r->mmap_addr = p;
	r->mmap_size = map_size;
	r->hva = (uint8_t *)p + w->mmap_offset;
	return 0;
}

static struct vhu_memmap *map_alloc(uint32_t n)
{
	struct vhu_memmap *m = calloc(1, sizeof(struct vhu_memmap) +
					     n * (sizeof(struct vhu_mem_region) + sizeof(uint16_t)));
	if (m) {
		m->refs = 1;
		m->by_qva = (uint16_t *)(void *)&m->regions[n];
	}
	return m;
}

/* by_qva of a map whose regions are in place: an insertion sort (at most
 * VHU_MAX_MEM_SLOTS, once per map change), then whether neighbours in
 * that order overlap. */
static void index_qva(struct vhu_memmap *m)
{
	uint16_t *o = m->by_qva;

	for (uint32_t i = 0; i < m->nregions; i++) {
		uint32_t j = i;
		for (; j > 0 && m->regions[o[j - 1]].qva > m->regions[i].qva; j--)
			o[j] = o[j - 1];
		o[j] = (uint16_t)i;
	}
	m->qva_disjoint = true;
	for (uint32_t i = 1; i < m->nregions; i++) {
		const struct vhu_mem_region *a = &m->regions[o[i - 1]], *b = &m->regions[o[i]];
		if (b->qva - a->qva < a->size)
			m->qva_disjoint = false;
	}
}

/* n of old's regions from i into m at j, m holding their mappings too. */
static void regions_share(struct vhu_memmap *m, uint32_t j, const struct vhu_memmap *old,
			  uint32_t i, uint32_t n)
{
	memcpy(&m->regions[j], &old->regions[i], n * sizeof(old->regions[0]));
	for (uint32_t k = 0; k < n; k++)
		__atomic_add_fetch(&old->regions[i + k].share->maps, 1, __ATOMIC_RELAXED);
}

static void region_unmap(struct vhu_mem_region *r)
{
	/* Acquire-release: every map's readers are done before the unmap. */
	if (__atomic_sub_fetch(&r->share->maps, 1, __ATOMIC_ACQ_REL))
		return;
	munmap(r->mmap_addr, r->mmap_size);
	free(r->share);
}

/* Where a region at gpa goes in m's sorted array. */
static uint32_t insert_pos(const struct vhu_memmap *m, uint64_t gpa)
{
	uint32_t lo = 0, hi = m->nregions;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->regions[mid].gpa < gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int vhu_memmap_build(const struct vhu_mem_table_wire *t, const int *fds,
		     int nfds, struct vhu_memmap **out)
{
	struct vhu_memmap *m;
	int ret;

	if (t->nregions == 0 || t->nregions > VHU_MAX_MEM_REGIONS) {
		VHU_ERR("SET_MEM_TABLE: %u regions (1 to %d allowed)", t->nregions,
			VHU_MAX_MEM_REGIONS);
		return -EINVAL;
	}
	if ((uint32_t)nfds != t->nregions) {
		VHU_ERR("SET_MEM_TABLE: %u regions but %d fds", t->nregions, nfds);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < t->nregions; i++) {
		const struct vhu_mem_region_wire *a = &t->regions[i];
		if ((ret = region_check("SET_MEM_TABLE", a, i)) < 0)
			return ret;
		for (uint32_t j = 0; j < i; j++) {
			const struct vhu_mem_region_wire *b = &t->regions[j];
			if (ranges_overlap(a->guest_phys_addr, a->memory_size,
					   b->guest_phys_addr, b->memory_size)) {
				VHU_ERR("SET_MEM_TABLE: regions %u and %u overlap", j, i);
				return -EINVAL;
			}
		}
	}
	m = map_alloc(t->nregions);
	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nregions; i++) {
		struct vhu_mem_region r;
		ret = region_map("SET_MEM_TABLE", &r, &t->regions[i], fds[i], i);
		if (ret < 0) {
			vhu_memmap_free(m);
			return ret;
		}
		uint32_t at = insert_pos(m, r.gpa);
		memmove(&m->regions[at + 1], &m->regions[at],
			(m->nregions - at) * sizeof(r));
		m->regions[at] = r;
		m->nregions++;
	}
	index_qva(m);
	*out = m;
	return 0;
}

/* Where w's gpa goes in old (0 when there is no old map). */
static uint32_t wire_pos(const struct vhu_memmap *old, const struct vhu_mem_region_wire *w)
{
	return old ? insert_pos(old, w->guest_phys_addr) : 0;
}

/* old's region of w's gpa, size and frontend address, or NULL (the file
 * offset is not compared: REM_MEM_REG's may be anything); at is
 * wire_pos(old, w). */
static const struct vhu_mem_region *region_named(const struct vhu_memmap *old,
						 const struct vhu_mem_region_wire *w, uint32_t at)
{
	uint32_t n = old ? old->nregions : 0;
	const struct vhu_mem_region *o = at < n ? &old->regions[at] : NULL;

	if (!o || o->gpa != w->guest_phys_addr || o->size != w->memory_size ||
	    o->qva != w->userspace_addr)
		return NULL;
	return o;
}

int vhu_memmap_add(const struct vhu_memmap *old, const struct vhu_mem_region_wire *w,
		   int fd, struct vhu_memmap **out)
{
	uint32_t n = old ? old->nregions : 0, at = wire_pos(old, w);
	struct vhu_memmap *m;
	struct vhu_mem_region r;
	int ret;

	*out = NULL;
	const struct vhu_mem_region *same = region_named(old, w, at);
	if (same) {
		same->share->adds++;
		return 1;
	}
	if (n >= VHU_MAX_MEM_SLOTS) {
		VHU_ERR("ADD_MEM_REG: already %u regions, the most GET_MAX_MEM_SLOTS allows",
			n);
		return -ENOSPC;
	}
	if ((ret = region_check("ADD_MEM_REG", w, n)) < 0)
		return ret;
	if (old) {
		/* Sorted and disjoint: only the neighbours can overlap. */
		for (uint32_t i = at ? at - 1 : 0; i < n && i <= at; i++) {
			const struct vhu_mem_region *o = &old->regions[i];
			if (ranges_overlap(w->guest_phys_addr, w->memory_size, o->gpa, o->size)) {
				VHU_ERR("ADD_MEM_REG: gpa 0x%llx size 0x%llx overlaps the region "
					"at gpa 0x%llx size 0x%llx",
					(unsigned long long)w->guest_phys_addr,
					(unsigned long long)w->memory_size,
					(unsigned long long)o->gpa, (unsigned long long)o->size);
				return -EEXIST;
			}
		}
	}
	m = map_alloc(n + 1);
	if (!m)
		return -ENOMEM;
	if ((ret = region_map("ADD_MEM_REG", &r, w, fd, n)) < 0) {
		free(m);
		return ret;
	}
	if (old) {
		regions_share(m, 0, old, 0, at);
		regions_share(m, at + 1, old, at, n - at);
	}
	m->regions[at] = r;
	m->nregions = n + 1;
	index_qva(m);
	*out = m;
	return 0;
}

int vhu_memmap_remove(const struct vhu_memmap *old, const struct vhu_mem_region_wire *w,
		      struct vhu_memmap **out)
{
	uint32_t n = old ? old->nregions : 0;
	const struct vhu_mem_region *o = region_named(old, w, wire_pos(old, w));
	struct vhu_memmap *m;

	*out = NULL;
	if (!o) {
		VHU_ERR("REM_MEM_REG: no region gpa 0x%llx size 0x%llx qva 0x%llx was added "
			"(%u regions)", (unsigned long long)w->guest_phys_addr,
			(unsigned long long)w->memory_size,
			(unsigned long long)w->userspace_addr, n);
		return -ENOENT;
	}
	if (o->share->adds > 1) {
		o->share->adds--;
		return 1;
	}
	uint32_t at = (uint32_t)(o - old->regions);
	m = map_alloc(n - 1);
	if (!m)
		return -ENOMEM;
	regions_share(m, 0, old, 0, at);
	regions_share(m, at, old, at + 1, n - at - 1);
	m->nregions = n - 1;
	index_qva(m);
	*out = m;
	return 0;
}

void vhu_mem_region_populate(const struct vhu_mem_region *r)
{
	static bool warned;
	/* The region's own pages only: a mapping starts at offset 0 of its
	 * file, and QEMU's RAM above 4 GiB is the second part of the file
	 * whose first part is the RAM below; populating the whole mapping (as
	 * MAP_POPULATE did) mapped that first part a second time, counted
	 * twice in our RSS. */
	uint8_t *start = (uint8_t *)((uintptr_t)r->hva & ~(uintptr_t)4095);
	size_t len = (size_t)(r->hva + r->size - start);

	if (madvise(start, len, MADV_POPULATE_WRITE) < 0 && !warned) {
		warned = true;
		VHU_WARN("populating guest memory (gpa 0x%llx): %s; pages come in on first use",
			 (unsigned long long)r->gpa, strerror(errno));
	}
}

void vhu_memmap_free(struct vhu_memmap *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nregions; i++)
		region_unmap(&m->regions[i]);
	free(m);
}

const struct vhu_mem_region *vhu_qva_region(const struct vhu_memmap *m, uint64_t qva)
{
	if (!m->qva_disjoint) {
		for (uint32_t i = 0; i < m->nregions; i++) {
			const struct vhu_mem_region *r = &m->regions[i];
			if (qva - r->qva < r->size && qva >= r->qva)
				return r;
		}
		return NULL;
	}
	uint32_t lo = 0, hi = m->nregions;
	/* The last region starting at or below qva is the only candidate. */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (m->regions[m->by_qva[mid]].qva <= qva)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct vhu_mem_region *r = &m->regions[m->by_qva[lo - 1]];
	return qva - r->qva < r->size ? r : NULL;
}

void *vhu_qva_piece(const struct vhu_memmap *m, uint64_t qva, uint64_t *len)
{
	const struct vhu_mem_region *r = vhu_qva_region(m, qva);

	if (!r)
		return NULL;
	uint64_t off = qva - r->qva;
	if (*len > r->size - off)
		*len = r->size - off;
	return r->hva + off;
}

void *vhu_qva_to_hva(const struct vhu_memmap *m, uint64_t qva, uint64_t len)
{
	uint64_t l = len;
	void *p = vhu_qva_piece(m, qva, &l);
	return p && l == len ? p : NULL;
}

uint64_t vhu_qva_to_gpa(const struct vhu_memmap *m, uint64_t qva)
{
	const struct vhu_mem_region *r = vhu_qva_region(m, qva);
	return r ? r->gpa + (qva - r->qva) : UINT64_MAX;
}
