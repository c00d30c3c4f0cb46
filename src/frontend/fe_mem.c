/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "Guest" memory of the frontend: memfds mapped shared, so the backend can
 * map the same pages from the fds sent with SET_MEM_TABLE. Split into
 * several regions at non-adjacent guest-physical addresses, it makes the
 * backend translate through more than one region, as with a real VM whose
 * RAM is cut by the PCI hole.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

int fe_mem_init(struct vhu_fe *fe, uint64_t size, uint16_t nregions)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t per, stride;

	if (nregions == 0 || nregions > VHU_MAX_MEM_REGIONS || size < nregions * page)
		return -EINVAL;
	per = (size / nregions + page - 1) & ~(page - 1);
	stride = (per + FE_REGION_STRIDE - 1) / FE_REGION_STRIDE * FE_REGION_STRIDE;
	for (uint16_t i = 0; i < nregions; i++) {
		struct fe_region *r = &fe->regions[i];
		char name[32];

		snprintf(name, sizeof(name), "vhu-fe-mem%u", i);
		r->fd = memfd_create(name, MFD_CLOEXEC);
		if (r->fd < 0)
			goto fail;
		fe->nregions = (uint16_t)(i + 1);
		if (ftruncate(r->fd, (off_t)per) < 0)
			goto fail;
		r->va = mmap(NULL, per, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
		if (r->va == MAP_FAILED) {
			r->va = NULL;
			goto fail;
		}
		r->size = per;
		r->gpa = i * stride;
		r->dev_addr = r->gpa + (fe->opts.iommu ? VHU_FE_IOVA_OFFSET : 0);
		r->used = 0;
	}
	return 0;
fail: {
	int err = -errno;
	VHU_ERR("fe %s: guest memory (%u x %llu bytes): %s", fe->path, nregions,
		(unsigned long long)per, strerror(errno));
	fe_mem_fini(fe);
	return err;
}
}

void fe_mem_fini(struct vhu_fe *fe)
{
	for (uint16_t i = 0; i < fe->nregions; i++) {
		struct fe_region *r = &fe->regions[i];
		if (r->va)
			munmap(r->va, r->size);
		if (r->fd >= 0)
			close(r->fd);
		r->va = NULL;
		r->fd = -1;
	}
	fe->nregions = 0;
}

static void *region_alloc(struct fe_region *r, uint64_t size, uint64_t align,
			  uint64_t *gpa)
{
	uint64_t off = (r->used + align - 1) & ~(align - 1);

	if (off > r->size || r->size - off < size)
		return NULL;
	r->used = off + size;
	*gpa = r->dev_addr + off;
	return r->va + off;
}

void *fe_mem_alloc(struct vhu_fe *fe, uint64_t size, uint64_t align,
		   unsigned hint, uint64_t *gpa)
{
	for (uint16_t k = 0; k < fe->nregions; k++) {
		void *p = region_alloc(&fe->regions[(hint + k) % fe->nregions],
				       size, align, gpa);
		if (p)
			return p;
	}
	return NULL;
}

uint64_t fe_mem_dev_addr(const struct vhu_fe *fe, const void *p)
{
	const uint8_t *b = p;

	for (uint16_t i = 0; i < fe->nregions; i++) {
		const struct fe_region *r = &fe->regions[i];
		if (b >= r->va && b < r->va + r->size)
			return r->dev_addr + (uint64_t)(b - r->va);
	}
	return 0;
}
