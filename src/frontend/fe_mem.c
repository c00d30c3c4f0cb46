/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * "Guest" memory of the frontend: memfds mapped shared, so the backend can
 * map the same pages from the fds sent with SET_MEM_TABLE (or ADD_MEM_REG).
 * Split into several regions at non-adjacent guest-physical addresses, it
 * makes the backend translate through more than one region, as with a
 * real VM whose RAM is cut by the PCI hole. Regions added and removed
 * later (CONFIGURE_MEM_SLOTS) play memory hotplug.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include "common/compiler.h"
#include "common/log.h"
#include "frontend/fe_priv.h"

/* A memfd of size bytes mapped shared into r. */
static int region_create(struct fe_region *r, const char *name, uint64_t size)
{
	r->fd = memfd_create(name, MFD_CLOEXEC);
	if (r->fd < 0)
		return -errno;
	if (ftruncate(r->fd, (off_t)size) < 0)
		return -errno;
	r->va = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (r->va == MAP_FAILED) {
		r->va = NULL;
		return -errno;
	}
	r->size = size;
	r->used = 0;
	return 0;
}

static void region_destroy(struct fe_region *r)
{
	if (r->va)
		munmap(r->va, r->size);
	if (r->fd >= 0)
		close(r->fd);
	r->va = NULL;
	r->fd = -1;
}

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
		fe->nregions = (uint16_t)(i + 1);
		r->gpa = i * stride;
		int err = region_create(r, name, per);
		if (err < 0) {
			VHU_ERR("fe %s: guest memory (%u x %llu bytes): %s", fe->path, nregions,
				(unsigned long long)per, strerror(-err));
			fe_mem_fini(fe);
			return err;
		}
		r->dev_addr = r->gpa + (fe->opts.iommu ? VHU_FE_IOVA_OFFSET : 0);
	}
	return 0;
}

void fe_mem_fini(struct vhu_fe *fe)
{
	for (uint16_t i = 0; i < fe->nregions; i++)
		region_destroy(&fe->regions[i]);
	fe->nregions = 0;
	for (unsigned i = 0; i < fe->nhot; i++)
		region_destroy(&fe->hot[i]);
	free(fe->hot);
	fe->hot = NULL;
	fe->nhot = 0;
}

/* ADD_MEM_REG (with the region's fd) or REM_MEM_REG (without: the spec's
 * recommendation; QEMU sends one, which the hostile suite covers). */
static int region_send(struct vhu_fe *fe, uint32_t req, const struct fe_region *r)
{
	struct vhu_mem_reg_wire w = { .region = {
		.guest_phys_addr = r->gpa,
		.memory_size = r->size,
		/* As QEMU: our own mapping address, which the vring
		 * addresses are expressed in. */
		.userspace_addr = (uint64_t)(uintptr_t)r->va,
		.mmap_offset = 0,
	} };
	bool add = req == VHU_REQ_ADD_MEM_REG;

	return fe_request(fe, req, &w, sizeof(w), add ? &r->fd : NULL, add ? 1 : 0);
}

int fe_mem_announce(struct vhu_fe *fe)
{
	struct vhu_mem_table_wire mt = { .nregions = fe->nregions };
	int fds[VHU_MAX_MEM_REGIONS], r = 0;

	if (fe_has(fe->protocol_features, VHU_PROTO_F_CONFIGURE_MEM_SLOTS)) {
		for (uint16_t i = 0; r == 0 && i < fe->nregions; i++)
			r = region_send(fe, VHU_REQ_ADD_MEM_REG, &fe->regions[i]);
		for (unsigned i = 0; r == 0 && i < fe->nhot; i++)
			r = region_send(fe, VHU_REQ_ADD_MEM_REG, &fe->hot[i]);
		return r;
	}
	if (fe->nhot) {
		VHU_ERR("fe %s: %u regions were added, and this backend does not take "
			"CONFIGURE_MEM_SLOTS", fe->path, fe->nhot);
		return -EOPNOTSUPP;
	}
	for (uint16_t i = 0; i < fe->nregions; i++) {
		mt.regions[i].guest_phys_addr = fe->regions[i].gpa;
		mt.regions[i].memory_size = fe->regions[i].size;
		mt.regions[i].userspace_addr = (uint64_t)(uintptr_t)fe->regions[i].va;
		mt.regions[i].mmap_offset = 0;
		fds[i] = fe->regions[i].fd;
	}
	return fe_request(fe, VHU_REQ_SET_MEM_TABLE, &mt,
			  (uint32_t)(offsetof(struct vhu_mem_table_wire, regions) +
				     fe->nregions * sizeof(mt.regions[0])),
			  fds, fe->nregions);
}

static bool overlaps_any(const struct vhu_fe *fe, uint64_t gpa, uint64_t size)
{
	for (uint16_t i = 0; i < fe->nregions; i++)
		if (gpa < fe->regions[i].gpa + fe->regions[i].size &&
		    fe->regions[i].gpa < gpa + size)
			return true;
	for (unsigned i = 0; i < fe->nhot; i++)
		if (gpa < fe->hot[i].gpa + fe->hot[i].size && fe->hot[i].gpa < gpa + size)
			return true;
	return false;
}

VHU_EXPORT int vhu_fe_add_mem_region(struct vhu_fe *fe, uint64_t gpa, uint64_t size)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct fe_region r = { .fd = -1, .gpa = gpa };
	int err;

	if (!fe_has(fe->protocol_features, VHU_PROTO_F_CONFIGURE_MEM_SLOTS))
		return -EOPNOTSUPP;
	if (size == 0 || (gpa | size) & (page - 1) || gpa + size < gpa)
		return -EINVAL;
	if (overlaps_any(fe, gpa, size))
		return -EEXIST;
	if (fe->nregions + fe->nhot >= fe->max_mem_slots)
		return -ENOSPC;
	struct fe_region *hot = realloc(fe->hot, (fe->nhot + 1) * sizeof(*hot));
	if (!hot)
		return -ENOMEM;
	fe->hot = hot;
	if ((err = region_create(&r, "vhu-fe-hot", size)) < 0 ||
	    (err = region_send(fe, VHU_REQ_ADD_MEM_REG, &r)) < 0) {
		region_destroy(&r);
		return err;
	}
	fe->hot[fe->nhot++] = r;
	return 0;
}

VHU_EXPORT int vhu_fe_remove_mem_region(struct vhu_fe *fe, uint64_t gpa)
{
	unsigned i;
	int err;

	for (i = 0; i < fe->nhot && fe->hot[i].gpa != gpa; i++)
		;
	if (i == fe->nhot)
		return -ENOENT;
	/* Our mapping goes only once the backend said it let go of its own
	 * (REPLY_ACK): the region is not reused under it. */
	if ((err = region_send(fe, VHU_REQ_REM_MEM_REG, &fe->hot[i])) < 0)
		return err;
	region_destroy(&fe->hot[i]);
	memmove(&fe->hot[i], &fe->hot[i + 1], (fe->nhot - i - 1) * sizeof(fe->hot[0]));
	fe->nhot--;
	return 0;
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
