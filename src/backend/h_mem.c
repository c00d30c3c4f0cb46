/* SPDX-License-Identifier: BSD-3-Clause */
/* Handlers for guest memory and the dirty log. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend/msg.h"
#include "common/log.h"

/* Makes m the device's map: each vring moves over under its own lock
 * (bursts use their vring's view, vq->mem, so one at a time is safe),
 * then drops the device's reference to the old map, which no vring uses
 * any more: it goes now, or with the last zero-copy packet reading it. */
static void mem_swap(struct vhu_dev *dev, struct vhu_memmap *m)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_memmap *old = dev->mem;

	dev->mem = m;
	for (int i = 0; i < VHU_MAX_VRINGS; i++) {
		struct vhu_vq *vq = dev->vq[i];
		if (!vq)
			continue;
		vhu_spin_lock(&vq->lock);
		if (vq->addr_set)
			vhu_vq_translate(vq, dev->mem);
		vq->mem = m;
		vhu_vq_update_active(vq);
		vhu_spin_unlock(&vq->lock);
	}
	vhu_memmap_put(old);
}

static bool populate(const struct vhu_dev *dev) VHU_REQUIRES(vhu_ctl)
{
	return dev->sock->flags & VHU_POPULATE_MEM;
}

int vhu_h_set_mem_table(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_memmap *m;
	int r;

	/* Map first, outside the vring locks: mmap of a large guest is slow
	 * and traffic keeps flowing on the old map meanwhile. */
	r = vhu_memmap_build(&msg->p.mem, msg->fds, msg->nfds, &m);
	if (r < 0)
		return r;
	for (uint32_t i = 0; i < m->nregions && populate(dev); i++)
		vhu_mem_region_populate(&m->regions[i]);
	mem_swap(dev, m);
	for (uint32_t i = 0; i < m->nregions; i++)
		VHU_INFO("%s: region %u gpa 0x%llx size 0x%llx", dev->name, i,
			 (unsigned long long)m->regions[i].gpa,
			 (unsigned long long)m->regions[i].size);
	return 0;
}

int vhu_h_get_max_mem_slots(struct vhu_dev *dev, struct vhu_msg *msg)
{
	(void)dev;
	return vhu_msg_reply_u64(msg, VHU_MAX_MEM_SLOTS);
}

static void log_region(const struct vhu_dev *dev, const char *what,
		       const struct vhu_mem_region_wire *w, const struct vhu_memmap *m)
{
	VHU_INFO("%s: region %s: gpa 0x%llx size 0x%llx (%u regions)", dev->name, what,
		 (unsigned long long)w->guest_phys_addr, (unsigned long long)w->memory_size,
		 m->nregions);
}

int vhu_h_add_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	const struct vhu_mem_region_wire *w = &msg->p.mem_reg.region;
	struct vhu_memmap *m;
	int r;

	r = vhu_memmap_add(dev->mem, w, msg->fds[0], &m);
	if (r < 0)
		return r;
	if (!m) {
		log_region(dev, "added again", w, dev->mem);
		return 0;
	}
	if (populate(dev))
		vhu_mem_region_populate(vhu_gpa_region(m, w->guest_phys_addr));
	mem_swap(dev, m);
	log_region(dev, "added", w, m);
	return 0;
}

int vhu_h_rem_mem_reg(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	const struct vhu_mem_region_wire *w = &msg->p.mem_reg.region;
	struct vhu_memmap *m;
	int r;

	r = vhu_memmap_remove(dev->mem, w, &m);
	if (r < 0)
		return r;
	if (!m) {
		log_region(dev, "removed once of the times added", w, dev->mem);
		return 0;
	}
	/* No vring reaches the old map after this, and every burst that used
	 * it ended when its vring's lock was taken: the library touches the
	 * region no more, and the reply comes after. The old map takes the
	 * region's mapping with it, at once, or with the last zero-copy
	 * packet still reading from it (stale bytes, never a fault). */
	mem_swap(dev, m);
	log_region(dev, "removed", w, m);
	return 0;
}

int vhu_h_set_log_base(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	uint64_t size = msg->p.log.mmap_size, off = msg->p.log.mmap_offset, end;
	void *p;

	if (size == 0 || __builtin_add_overflow(size, off, &end) || end > (1ULL << 40)) {
		VHU_ERR("%s: SET_LOG_BASE size 0x%llx offset 0x%llx invalid", dev->name,
			(unsigned long long)size, (unsigned long long)off);
		return -EINVAL;
	}
	/* A mapping past the end of a regular file (memfd, hugetlbfs) works,
	 * but the first bit we set there would SIGBUS the whole process. */
	struct stat st;
	if (fstat(msg->fds[0], &st) < 0) {
		VHU_ERR("%s: SET_LOG_BASE fstat: %s", dev->name, strerror(errno));
		return -errno;
	}
	if (S_ISREG(st.st_mode) && end > (uint64_t)st.st_size) {
		VHU_ERR("%s: SET_LOG_BASE offset 0x%llx + size 0x%llx is past the end of "
			"its file (0x%llx)", dev->name, (unsigned long long)off,
			(unsigned long long)size, (unsigned long long)st.st_size);
		return -EINVAL;
	}
	p = mmap(NULL, end, PROT_READ | PROT_WRITE, MAP_SHARED, msg->fds[0], 0);
	if (p == MAP_FAILED) {
		VHU_ERR("%s: SET_LOG_BASE mmap: %s", dev->name, strerror(errno));
		return -errno;
	}
	vhu_dev_lock_all(dev);
	void *old = dev->log_map;
	uint64_t old_size = dev->log_map_size;
	dev->log_map = p;
	dev->log_map_size = end;
	dev->log.bitmap = (uint8_t *)p + off;
	dev->log.size = size;
	vhu_dev_unlock_all(dev);
	if (old)
		munmap(old, old_size);
	VHU_INFO("%s: dirty log of %llu bytes", dev->name, (unsigned long long)size);
	/* QEMU waits for an empty reply to this one. */
	msg->hdr.size = 0;
	return VHU_H_REPLY;
}

int vhu_h_set_log_fd(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	if (dev->log_fd >= 0)
		close(dev->log_fd);
	dev->log_fd = vhu_msg_take_fd(msg, 0);
	return 0;
}
