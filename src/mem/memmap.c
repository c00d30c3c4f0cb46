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

static int region_check(const struct vhu_mem_region_wire *w, uint32_t i)
{
	uint64_t end;

	if (w->memory_size == 0) {
		VHU_ERR("SET_MEM_TABLE: region %u has size 0", i);
		return -EINVAL;
	}
	if (__builtin_add_overflow(w->guest_phys_addr, w->memory_size, &end) ||
	    __builtin_add_overflow(w->userspace_addr, w->memory_size, &end) ||
	    __builtin_add_overflow(w->mmap_offset, w->memory_size, &end)) {
		VHU_ERR("SET_MEM_TABLE: region %u: address + size overflows "
			"(gpa 0x%llx qva 0x%llx off 0x%llx size 0x%llx)", i,
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
		VHU_ERR("SET_MEM_TABLE: region %u: gpa 0x%llx, qva 0x%llx and offset 0x%llx "
			"are not aligned alike (16 bytes)", i,
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

static int region_map(struct vhu_mem_region *r, const struct vhu_mem_region_wire *w,
		      int fd, uint32_t i)
{
	struct stat st;
	uint64_t map_size, align;

	if (fstat(fd, &st) < 0) {
		VHU_ERR("SET_MEM_TABLE: region %u: fstat: %s", i, strerror(errno));
		return -errno;
	}
	/* memfd and hugetlbfs files report their size; the region must be
	 * inside it, or the first touch past the end would SIGBUS us. */
	if (S_ISREG(st.st_mode) &&
	    w->mmap_offset + w->memory_size > (uint64_t)st.st_size) {
		VHU_ERR("SET_MEM_TABLE: region %u: offset 0x%llx + size 0x%llx is "
			"past the end of its file (0x%llx)", i,
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
	void *p = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_POPULATE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		VHU_ERR("SET_MEM_TABLE: region %u: mmap of 0x%llx bytes: %s", i,
			(unsigned long long)map_size, strerror(e));
		return -e;
	}
	r->gpa = w->guest_phys_addr;
	r->size = w->memory_size;
	r->qva = w->userspace_addr;
	r->mmap_addr = p;
	r->mmap_size = map_size;
	r->hva = (uint8_t *)p + w->mmap_offset;
	return 0;
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
		if ((ret = region_check(a, i)) < 0)
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
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	for (uint32_t i = 0; i < t->nregions; i++) {
		ret = region_map(&m->regions[i], &t->regions[i], fds[i], i);
		if (ret < 0) {
			vhu_memmap_free(m);
			return ret;
		}
		m->nregions = i + 1;
	}
	*out = m;
	return 0;
}

void vhu_memmap_free(struct vhu_memmap *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nregions; i++)
		munmap(m->regions[i].mmap_addr, m->regions[i].mmap_size);
	free(m);
}

void *vhu_qva_piece(const struct vhu_memmap *m, uint64_t qva, uint64_t *len)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];
		uint64_t off = qva - r->qva;
		if (qva >= r->qva && off < r->size) {
			if (*len > r->size - off)
				*len = r->size - off;
			return r->hva + off;
		}
	}
	return NULL;
}

void *vhu_qva_to_hva(const struct vhu_memmap *m, uint64_t qva, uint64_t len)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];
		uint64_t off = qva - r->qva;
		if (qva >= r->qva && off < r->size && len <= r->size - off)
			return r->hva + off;
	}
	return NULL;
}

uint64_t vhu_qva_to_gpa(const struct vhu_memmap *m, uint64_t qva)
{
	for (uint32_t i = 0; i < m->nregions; i++) {
		const struct vhu_mem_region *r = &m->regions[i];
		if (qva >= r->qva && qva - r->qva < r->size)
			return r->gpa + (qva - r->qva);
	}
	return UINT64_MAX;
}
