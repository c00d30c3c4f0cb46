/* SPDX-License-Identifier: BSD-3-Clause */
/* Handlers for guest memory and the dirty log. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "backend/msg.h"
#include "common/log.h"

int vhu_h_set_mem_table(struct vhu_dev *dev, struct vhu_msg *msg)
	VHU_REQUIRES(vhu_ctl)
{
	struct vhu_memmap *m, *old;
	int r;

	/* Map first, outside the vring locks: mmap of a large guest is slow
	 * and traffic keeps flowing on the old map meanwhile. */
	r = vhu_memmap_build(&msg->p.mem, msg->fds, msg->nfds, &m);
	if (r < 0)
		return r;
	old = dev->mem;
	dev->mem = m;
	/* Bursts use their vring's own view (vq->mem), so moving the vrings
	 * over one at a time is safe; the old map goes once none uses it. */
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
	for (uint32_t i = 0; i < m->nregions; i++)
		VHU_INFO("%s: region %u gpa 0x%llx size 0x%llx", dev->name, i,
			 (unsigned long long)m->regions[i].gpa,
			 (unsigned long long)m->regions[i].size);
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
